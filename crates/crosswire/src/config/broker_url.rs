//! The login a broker URL may carry (`scheme://user:password@host:port`,
//! or `scheme://token@host:port`), and the URL in a form safe to print.
//!
//! Broker crates need both: the Redis client reads a login from the URL
//! by itself, the NATS client does not (it has to be given as options),
//! and no broker may write a password into a log line or an error.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;

use super::BrokerConfig;

/// The login written in a broker URL, percent-decoded. Its `Debug` hides
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlLogin {
    /// The user name, or the token when there is no password.
    pub user: String,
    /// The password, if the URL has one (`user:password@`).
    pub password: Option<String>,
}

impl fmt::Debug for UrlLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlLogin")
            .field(
                "user",
                &if self.password.is_some() {
                    &*self.user
                } else {
                    "***"
                },
            )
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `url` cut into its scheme with `://`, its login (the part before the
/// last `@` of the authority, if any) and the rest.
fn split(url: &str) -> (&str, Option<&str>, &str) {
    let Some(start) = url.find("://").map(|at| at + 3) else {
        return ("", None, url);
    };
    let (scheme, after) = url.split_at(start);
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    match after[..authority_end].rfind('@') {
        Some(at) => (scheme, Some(&after[..at]), &after[at + 1..]),
        None => (scheme, None, after),
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// `url` with its password, or a lone token, written as `***`.
fn redact(url: &str) -> Cow<'_, str> {
    match split(url) {
        (scheme, Some(login), rest) => {
            let shown = match login.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => "***".to_owned(),
            };
            Cow::Owned(format!("{scheme}{shown}@{rest}"))
        }
        _ => Cow::Borrowed(url),
    }
}

impl BrokerConfig {
    /// The URL with its password (or a lone token) written as `***`: the
    /// form to put in a log line or an error message.
    pub fn redacted_url(&self) -> Option<Cow<'_, str>> {
        self.url.as_deref().map(redact)
    }

    /// The URL without its login, and the login, for a client that takes
    /// credentials apart from the address.
    ///
    /// ```
    /// let mut config = crosswire::BrokerConfig::default();
    /// config.url = Some("nats://app:s%40cret@10.0.0.5:4222".to_owned());
    /// let (address, login) = config.url_without_login().unwrap();
    /// assert_eq!(address, "nats://10.0.0.5:4222");
    /// let login = login.unwrap();
    /// assert_eq!((&*login.user, login.password.as_deref()), ("app", Some("s@cret")));
    /// assert_eq!(config.redacted_url().unwrap(), "nats://app:***@10.0.0.5:4222");
    /// ```
    pub fn url_without_login(&self) -> Option<(String, Option<UrlLogin>)> {
        let url = self.url.as_deref()?;
        Some(match split(url) {
            (scheme, Some(login), rest) => {
                let login = match login.split_once(':') {
                    Some((user, password)) => UrlLogin {
                        user: decode(user),
                        password: Some(decode(password)),
                    },
                    None => UrlLogin {
                        user: decode(login),
                        password: None,
                    },
                };
                (format!("{scheme}{rest}"), Some(login))
            }
            _ => (url.to_owned(), None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> BrokerConfig {
        BrokerConfig {
            url: Some(url.to_owned()),
            ..BrokerConfig::default()
        }
    }

    #[test]
    fn passwords_and_tokens_never_show() {
        for (url, shown) in [
            ("redis://:hunter2@db:6379/0", "redis://:***@db:6379/0"),
            ("rediss://app:hunter2@db:6380", "rediss://app:***@db:6380"),
            ("nats://s3cr3t-token@bus:4222", "nats://***@bus:4222"),
            ("nats://a:b:c@bus", "nats://a:***@bus"),
            ("nats://bus:4222", "nats://bus:4222"),
            // An `@` after the authority is not a login.
            ("redis://db:6379/0?name=a@b", "redis://db:6379/0?name=a@b"),
            ("no scheme@here", "no scheme@here"),
        ] {
            assert_eq!(config(url).redacted_url().unwrap(), shown, "{url}");
        }
    }

    #[test]
    fn the_login_comes_out_decoded_and_the_address_without_it() {
        let (address, login) = config("nats://u%3Ax:p%40ss:w@h:1")
            .url_without_login()
            .unwrap();
        assert_eq!(address, "nats://h:1");
        let login = login.unwrap();
        assert_eq!(login.user, "u:x");
        assert_eq!(login.password.as_deref(), Some("p@ss:w"));
        assert!(!format!("{login:?}").contains("p@ss"));

        let (address, login) = config("nats://tok@h:1").url_without_login().unwrap();
        assert_eq!(address, "nats://h:1");
        let login = login.unwrap();
        assert_eq!(
            (login.user.as_str(), login.password.as_deref()),
            ("tok", None)
        );
        assert!(!format!("{login:?}").contains("tok"));

        let (address, login) = config("nats://h:1").url_without_login().unwrap();
        assert_eq!((address.as_str(), login), ("nats://h:1", None));
    }
}
