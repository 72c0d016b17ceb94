//! What the dev server reads from the app's `crosswire.toml`.
//!
//! The dev server listens where the app would (`[server] host` and `port`,
//! or `PORT`), so the URL a developer opens is the app's own. `[dev.hmr]`
//! says where the reload channel lives: a path on that same port by default,
//! or a port of its own.
//!
//! ```toml
//! [server]
//! port = 3000
//!
//! [dev.hmr]
//! path = "/__crosswire/reload"   # the default
//! # port = 3002                  # a port of its own, as the seed's Vite config does
//! ```

use std::path::Path;

use crosswire::Config;

use crate::error::DevError;

/// The settings of one dev server run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DevSettings {
    /// Interface to listen on: the app's `[server] host`.
    pub host: String,
    /// Port to listen on: the app's `[server] port` (default 3000).
    pub port: u16,
    /// Path of the reload channel's WebSocket (`[dev.hmr] path`).
    pub hmr_path: String,
    /// The reload channel's own port (`[dev.hmr] port`), if it has one.
    pub hmr_port: Option<u16>,
}

impl DevSettings {
    /// Reads `crosswire.toml` in `app_dir` (if present) with the
    /// `CROSSWIRE_*` and `PORT` overrides of the environment.
    pub fn load(app_dir: &Path) -> Result<Self, DevError> {
        let config = Config::load_from(&app_dir.join("crosswire.toml"))?;
        Self::from_config(&config)
    }

    /// The settings of a loaded configuration, checked.
    pub fn from_config(config: &Config) -> Result<Self, DevError> {
        let settings = Self {
            host: config.server.host.clone(),
            port: config.server.port,
            hmr_path: config.dev.hmr.path.clone(),
            hmr_port: config.dev.hmr.port,
        };
        settings.check()?;
        Ok(settings)
    }

    /// `host:port` for `port`, with IPv6 hosts in brackets.
    pub fn addr(&self, port: u16) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        }
    }

    fn check(&self) -> Result<(), DevError> {
        let path = &self.hmr_path;
        // The path is compared with request paths as is and written into a
        // script, so keep it to plain path characters.
        let plain = path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.' | '~' | '@'));
        if !path.starts_with('/') || path.len() < 2 || !plain {
            return Err(DevError::Hmr(format!(
                "path `{path}` must start with `/` and hold only letters, digits and `/_-.~@`, such as `/__crosswire/reload`"
            )));
        }
        if let Some(port) = self.hmr_port
            && port != 0
            && port == self.port
        {
            return Err(DevError::Hmr(format!(
                "port {port} is also the app's port; pick another, or remove it to share the app's port by path"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> Result<DevSettings, DevError> {
        let config = Config::from_toml(toml, "crosswire.toml")?;
        DevSettings::from_config(&config)
    }

    #[test]
    fn defaults_share_the_app_port_by_path() {
        let settings = settings("").unwrap();
        assert_eq!(settings.port, 3000);
        assert_eq!(settings.hmr_path, "/__crosswire/reload");
        assert_eq!(settings.hmr_port, None);
        assert_eq!(settings.addr(3000), "127.0.0.1:3000");
    }

    #[test]
    fn the_hmr_port_is_read_and_may_not_be_the_app_port() {
        let settings = settings("[dev.hmr]\nport = 3002\n").unwrap();
        assert_eq!(settings.hmr_port, Some(3002));
        let error = super::tests::settings("[dev.hmr]\nport = 3000\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("port 3000 is also the app's port"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_path_is_refused_with_an_example() {
        for path in ["reload", "/", "/a b", "/x?y", "/</script>"] {
            let error = settings(&format!("[dev.hmr]\npath = \"{path}\"\n")).unwrap_err();
            assert!(
                error.to_string().contains("such as `/__crosswire/reload`"),
                "{error}"
            );
        }
    }

    #[test]
    fn ipv6_hosts_get_brackets() {
        let settings = settings("[server]\nhost = \"::1\"\n").unwrap();
        assert_eq!(settings.addr(3000), "[::1]:3000");
    }
}
