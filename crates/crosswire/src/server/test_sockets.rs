//! Connected sockets for the server's unit tests.

use tokio::net::{TcpListener, TcpStream};

/// A connected pair on the loopback interface: (server's end, client's).
pub(super) async fn loopback_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (server, client)
}
