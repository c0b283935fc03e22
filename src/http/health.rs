//! `/healthz`: answers while the process can serve requests at all.

use http::{Response, StatusCode};

use super::body::{text, ResponseBody};

pub(crate) const PATH: &str = "/healthz";

pub(crate) fn respond() -> Response<ResponseBody> {
    text(StatusCode::OK, "ok")
}
