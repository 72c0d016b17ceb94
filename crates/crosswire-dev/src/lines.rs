//! Lines of a child's output, whatever bytes it writes.
//!
//! The app and cargo are read line by line to show what they print. A line
//! that is not UTF-8 must not end the reading: the pipe would stay open
//! with nobody draining it (cargo then blocks once it is full), or close
//! under the app (whose next print then fails). So invalid bytes are
//! replaced, and a line is also cut at [`MAX_LINE`] bytes, so output that
//! never ends a line cannot grow without bound.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The longest line kept whole; longer output is shown in pieces.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Reads `R` one line at a time.
pub(crate) struct Lines<R> {
    reader: BufReader<R>,
    /// The line read so far: kept across calls, so a read dropped in a
    /// `select!` loses nothing.
    line: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    pub(crate) fn new(output: R) -> Self {
        Self {
            reader: BufReader::new(output),
            line: Vec::new(),
        }
    }

    /// The next line without its line ending, invalid UTF-8 replaced;
    /// `None` at the end of the output. Cancel-safe.
    pub(crate) async fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok((!self.line.is_empty()).then(|| self.take()));
            }
            let room = MAX_LINE.saturating_sub(self.line.len());
            if let Some(end) = available.iter().take(room).position(|&b| b == b'\n') {
                self.line.extend_from_slice(&available[..end]);
                self.reader.consume(end + 1);
                return Ok(Some(self.take()));
            }
            let taken = available.len().min(room);
            self.line.extend_from_slice(&available[..taken]);
            self.reader.consume(taken);
            if self.line.len() >= MAX_LINE {
                return Ok(Some(self.take()));
            }
        }
    }

    fn take(&mut self) -> String {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(bytes: &[u8]) -> Vec<String> {
        let mut lines = Lines::new(bytes);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push(line);
        }
        out
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced_and_reading_goes_on() {
        let lines = all(b"one\r\nt\xffo\nthree").await;
        assert_eq!(lines, ["one", "t\u{fffd}o", "three"]);
    }

    #[tokio::test]
    async fn a_line_that_never_ends_comes_in_pieces() {
        let mut bytes = vec![b'x'; MAX_LINE * 2 + 10];
        bytes.extend_from_slice(b"\nend\n");
        let lines = all(&bytes).await;
        let lengths: Vec<usize> = lines.iter().map(String::len).collect();
        assert_eq!(lengths, [MAX_LINE, MAX_LINE, 10, 3]);
    }
}
