//! Hrefs as the bridge stores them: the path of a resource on the upstream, in one
//! canonical percent-encoding, so the same item always has the same key whatever
//! encoding the server chose in a given answer.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use super::error::DavError;

/// Everything but RFC 3986 unreserved characters and `/` is encoded.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Everything but unreserved characters: for one path segment.
const SEGMENT: &AsciiSet = &PATH.add(b'/');

/// The canonical form of a path: decoded, then re-encoded with one fixed set.
pub fn canonical_path(path: &str) -> String {
    let bytes: Vec<u8> = percent_decode_str(path).collect();
    percent_encoding::percent_encode(&bytes, PATH).to_string()
}

/// Encodes a resource name (e.g. `uid.vcf`) for use as the last segment of an href.
pub fn encode_segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// Resolves an href from an answer to `base` (the request's URL) and returns its
/// canonical path. An href on another host is refused: the bridge never follows one.
pub fn resolve(base: &Url, href: &str) -> Result<String, DavError> {
    let url = base.join(href.trim()).map_err(|e| DavError::InvalidUrl {
        url: href.to_owned(),
        message: e.to_string(),
    })?;
    if url.origin() != base.origin() {
        return Err(DavError::InvalidUrl {
            url: href.to_owned(),
            message: "points to another server".into(),
        });
    }
    Ok(canonical_path(url.path()))
}

/// The URL of a canonical path on the upstream at `base`.
pub fn to_url(base: &Url, path: &str) -> Result<Url, DavError> {
    let mut url = base.clone();
    if !path.starts_with('/') {
        return Err(DavError::InvalidUrl {
            url: path.to_owned(),
            message: "an href must be an absolute path".into(),
        });
    }
    url.set_path(path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `collection` (a path ending in `/`, or not) joined with a resource name.
pub fn child(collection: &str, name: &str) -> String {
    let sep = if collection.ends_with('/') { "" } else { "/" };
    format!("{collection}{sep}{}", encode_segment(name))
}

/// An item's href split into its collection and its decoded resource name: what
/// [`child`] joins again into the same href.
pub fn split(href: &str) -> Option<(String, String)> {
    let (collection, name) = href.rsplit_once('/')?;
    let name = percent_decode_str(name).decode_utf8().ok()?.into_owned();
    (!name.is_empty()).then(|| (format!("{collection}/"), name))
}

/// Compares two collection paths ignoring a trailing `/`.
pub fn same_collection(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_href_joins_again_into_itself() {
        for h in [
            "/dav/anna/contacts/a%40b.vcf",
            "/c/x%20y.ics",
            "/c/plain.vcf",
        ] {
            let (collection, name) = split(h).unwrap();
            assert_eq!(child(&collection, &name), h);
        }
        assert_eq!(split("/c/"), None);
    }

    #[test]
    fn encodings_of_one_name_agree() {
        assert_eq!(canonical_path("/a/b%40c.vcf"), "/a/b%40c.vcf");
        assert_eq!(canonical_path("/a/b@c.vcf"), "/a/b%40c.vcf");
        assert_eq!(canonical_path("/a/%7Ex%20y"), "/a/~x%20y");
        assert_eq!(child("/a/", "b c@d.vcf"), "/a/b%20c%40d.vcf");
        assert_eq!(child("/a", "x/y"), "/a/x%2Fy");
    }

    #[test]
    fn resolves_relative_and_absolute_hrefs() {
        let base = Url::parse("http://h:1/u/c/").unwrap();
        assert_eq!(resolve(&base, "x.vcf").unwrap(), "/u/c/x.vcf");
        assert_eq!(resolve(&base, "/u/c/x.vcf").unwrap(), "/u/c/x.vcf");
        assert_eq!(
            resolve(&base, "http://h:1/u/c/x.vcf").unwrap(),
            "/u/c/x.vcf"
        );
        assert!(resolve(&base, "http://evil:1/x").is_err());
        assert!(to_url(&base, "rel").is_err());
        assert_eq!(to_url(&base, "/z/").unwrap().as_str(), "http://h:1/z/");
    }
}
