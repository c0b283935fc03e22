//! A request body that reports when it has been sent in full, so the upstream's answer
//! time can be measured from then: a slow upload is not the upstream being slow.

use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

/// Wraps `body`; the receiver completes once the body ended, failed or was dropped.
pub(crate) fn watch_end<B: Body + Unpin>(body: B) -> (EndSignalling<B>, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    let mut wrapped = EndSignalling {
        inner: body,
        done: Some(tx),
    };
    // An empty body may never be polled at all.
    if wrapped.inner.is_end_stream() {
        wrapped.signal();
    }
    (wrapped, rx)
}

pub(crate) struct EndSignalling<B> {
    inner: B,
    done: Option<oneshot::Sender<()>>,
}

impl<B> EndSignalling<B> {
    fn signal(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
    }
}

impl<B: Body + Unpin> Body for EndSignalling<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.signal(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.signal(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full, StreamBody};

    #[tokio::test]
    async fn signals_after_the_last_frame_and_at_once_for_an_empty_body() {
        let (body, mut rx) = watch_end(Full::new(Bytes::from_static(b"abc")));
        assert!(rx.try_recv().is_err(), "not before the body was read");
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert!(rx.await.is_ok());

        let (_body, rx) = watch_end(Full::new(Bytes::new()));
        assert!(rx.await.is_ok());

        let frames = futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"a"))),
            Ok(Frame::data(Bytes::from_static(b"b"))),
        ]);
        let (mut body, mut rx) = watch_end(StreamBody::new(frames));
        assert!(body.frame().await.is_some());
        assert!(rx.try_recv().is_err(), "one frame still to come");
        drop(body);
        assert!(rx.await.is_err(), "a dropped body ends the wait too");
    }
}
