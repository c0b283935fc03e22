//! TCP/IP push: connect to the device's registered listener and hand it the
//! notification, either bare or as an HTTP POST (as SyncEvolution's SAN sender does).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::PushError;

/// How the notification is framed on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The notification bytes, then the connection is closed.
    Raw,
    /// `POST /` with the notification's content type; a 2xx answer is success.
    Http,
}

impl Framing {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "raw" => Some(Framing::Raw),
            "http" => Some(Framing::Http),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TcpOptions {
    /// Time allowed for the whole push: connect, write and (HTTP) answer.
    pub timeout: Duration,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            timeout: Duration::from_secs(10),
        }
    }
}

/// Longest HTTP status line read back from a device.
const MAX_STATUS_LINE: usize = 1024;

/// Sends `payload` to `addr`; returns the bytes written.
pub async fn push(
    addr: SocketAddr,
    payload: &[u8],
    content_type: &str,
    framing: Framing,
    options: &TcpOptions,
) -> Result<Vec<u8>, PushError> {
    let bytes = match framing {
        Framing::Raw => payload.to_vec(),
        Framing::Http => {
            let mut b = format!(
                "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            )
            .into_bytes();
            b.extend_from_slice(payload);
            b
        }
    };
    let secs = options.timeout.as_secs();
    tokio::time::timeout(options.timeout, exchange(addr, &bytes, framing))
        .await
        .map_err(|_| PushError::TcpTimeout {
            addr: addr.to_string(),
            secs,
        })??;
    Ok(bytes)
}

async fn exchange(addr: SocketAddr, bytes: &[u8], framing: Framing) -> Result<(), PushError> {
    let io = |source| PushError::Tcp {
        addr: addr.to_string(),
        source,
    };
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    stream.write_all(bytes).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    if framing == Framing::Raw {
        stream.shutdown().await.map_err(io)?;
        return Ok(());
    }
    let status_line = read_status_line(&mut stream).await.map_err(io)?;
    let ok = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| (200..300).contains(&code));
    if ok {
        Ok(())
    } else {
        Err(PushError::TcpRefused {
            addr: addr.to_string(),
            status_line,
        })
    }
}

async fn read_status_line(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < MAX_STATUS_LINE {
        if stream.read(&mut byte).await? == 0 || byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}
