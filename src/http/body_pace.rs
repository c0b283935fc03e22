//! Reading a SyncML body against a pace: a client gets a grace period plus time in
//! proportion to what it has sent, so a trickle that holds a request open is cut early
//! while a slow but steady phone is not.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Body;
use tokio::time::Instant;

use super::body::BoxError;

/// How fast a body must arrive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyPace {
    /// Time allowed beyond what the bytes received so far earn.
    pub(crate) grace: Duration,
    /// Each byte received earns `1 / min_bytes_per_sec` seconds.
    pub(crate) min_bytes_per_sec: u64,
    /// The whole read never takes longer than this.
    pub(crate) cap: Duration,
}

impl BodyPace {
    /// Time allowed since the start once `received` bytes have arrived.
    fn allowance(&self, received: usize) -> Duration {
        let earned = received as f64 / self.min_bytes_per_sec.max(1) as f64;
        self.grace
            .saturating_add(Duration::from_secs_f64(earned))
            .min(self.cap)
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyReadError {
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the body arrived too slowly: {received} bytes in {} s", elapsed.as_secs())]
    TooSlow { received: usize, elapsed: Duration },
    #[error("the body could not be read: {0}")]
    Read(BoxError),
}

/// Reads the whole body, at most `limit` bytes, at the pace `pace` asks for. `expected`
/// (the announced length, already checked against `limit`) sizes the buffer once.
pub(crate) async fn read_body<B>(
    body: B,
    limit: usize,
    expected: Option<usize>,
    pace: &BodyPace,
) -> Result<Bytes, BodyReadError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let start = Instant::now();
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::with_capacity(expected.unwrap_or(0).min(limit));
    loop {
        let deadline = start + pace.allowance(buf.len());
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(BodyReadError::TooSlow {
                    received: buf.len(),
                    elapsed: start.elapsed(),
                })
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyReadError::Read(e.into())),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.len()) > limit {
                return Err(BodyReadError::TooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    /// Each byte earns a millisecond.
    const PACE: BodyPace = BodyPace {
        grace: Duration::from_millis(200),
        min_bytes_per_sec: 1000,
        cap: Duration::from_secs(60),
    };

    #[test]
    fn bytes_received_earn_time_up_to_the_cap() {
        assert_eq!(PACE.allowance(0), Duration::from_millis(200));
        assert_eq!(PACE.allowance(300), Duration::from_millis(500));
        assert_eq!(PACE.allowance(usize::MAX), Duration::from_secs(60));
    }

    /// A body sending `chunk` every `every`, `count` times.
    fn trickle(
        chunk: &'static [u8],
        every: Duration,
        count: usize,
    ) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, BoxError>>> {
        StreamBody::new(futures_util::stream::unfold(0, move |n| async move {
            if n == count {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok(Frame::data(Bytes::from_static(chunk))), n + 1))
        }))
    }

    #[tokio::test]
    async fn a_trickle_is_cut_once_it_falls_behind() {
        let slow = trickle(b"x", Duration::from_millis(100), 1000);
        let err = read_body(slow, 1 << 20, None, &PACE).await.unwrap_err();
        match err {
            BodyReadError::TooSlow { received, elapsed } => {
                assert!(received <= 3, "{received}");
                assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
            }
            other => panic!("{other}"),
        }
    }

    #[tokio::test]
    async fn a_steady_body_above_the_rate_is_read_whole() {
        // 200 bytes every 50 ms is four times the minimum rate, for ten times the grace.
        let steady = trickle(&[b'a'; 200], Duration::from_millis(50), 40);
        let body = read_body(steady, 1 << 20, None, &PACE).await.unwrap();
        assert_eq!(body.len(), 200 * 40);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let err = read_body(
            trickle(b"0123456789", Duration::ZERO, 5),
            40,
            Some(40),
            &PACE,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, BodyReadError::TooLarge { limit: 40 }),
            "{err}"
        );
    }
}
