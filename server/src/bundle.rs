//! The browser bundles under `/pkg/`: the WASM, its JavaScript glue and the
//! stylesheet, the pieces of the app's split bundle and the islands bundle.
//! A release build names files after their content's hash (cargo-leptos'
//! `hash-files`; `hash.txt` and `hash-islands.txt` beside the binary tell
//! Leptos the main ones), so a browser may keep
//! those for a year without asking again; brotli and
//! gzip copies made at build time (`scripts/compress-bundle.sh`) go to
//! browsers that accept them, with no compression work per request. A
//! release build's files are read once, at start, and answered from memory.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    Router,
    extract::{Path as UrlPath, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use leptos::config::LeptosOptions;
use md5::{Digest, Md5};
use tower_http::services::ServeDir;

/// Where Leptos looks for the hash list: beside the running binary.
pub fn hash_file(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(name)
}

pub fn router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let prefix = format!("/{}", options.site_pkg_dir);
    if options.hash_files {
        from_memory(&dir, &prefix)
    } else {
        from_disk(&dir, &prefix)
    }
}

/// Files named after their content never change: kept for a year.
const CACHED_FOR_GOOD: &str = "public, max-age=31536000, immutable";
/// Same name, new content after a rebuild: browsers ask first.
const ASK_FIRST: &str = "no-cache";

/// A development build's files, read from disk at each request:
/// `cargo leptos watch` rewrites them under the running server, with the
/// same names. Browsers ask again every time.
fn from_disk<S: Clone + Send + Sync + 'static>(dir: &Path, prefix: &str) -> Router<S> {
    Router::new()
        .nest_service(prefix, ServeDir::new(dir))
        .layer(middleware::from_fn(
            |request: Request, next: Next| async move {
                let mut response = next.run(request).await;
                if response.status().is_success() {
                    response
                        .headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static(ASK_FIRST));
                }
                response
            },
        ))
}

/// A release build's files, read once when the server starts: they do not
/// change while it runs (a new build is a new deployment). Read from disk
/// at each request, on tokio's blocking threads, a 22 KB script answered at
/// 0.62-0.92 of `/login`'s rate; from memory, at 3.7-3.8 (BENCHMARKS.md,
/// "The bundle served from memory"). Requests name a file of the map, never
/// a path on disk.
fn from_memory<S: Clone + Send + Sync + 'static>(dir: &Path, prefix: &str) -> Router<S> {
    let assets = Arc::new(read_assets(dir));
    Router::new().route(
        &format!("{prefix}/{{*name}}"),
        get(move |UrlPath(name): UrlPath<String>, headers: HeaderMap| {
            let assets = Arc::clone(&assets);
            async move { answer(&assets, &name, &headers) }
        }),
    )
}

/// One of the bundle's files, with its precompressed copies.
struct Asset {
    content_type: HeaderValue,
    /// The MD5 of the uncompressed content: what a browser that kept the
    /// file sends back in `If-None-Match`.
    etag: HeaderValue,
    /// Named after its content (`content_hash_in_name`): cached for good.
    /// cargo-leptos rewrites some files after naming them (the main
    /// JavaScript, to import the loader of the split bundle, whose own name
    /// depends on what it loads): their name no longer says what they
    /// hold, so browsers ask again for them.
    immutable: bool,
    identity: Bytes,
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
}

/// Every file under `dir`, by its path there (`snippets/…/inline0.js`, as
/// wasm-bindgen writes for some crates), with the `.br` and `.gz` copies of
/// it that `scripts/compress-bundle.sh` made. A file that cannot be read is
/// left out, and answered 404.
fn read_assets(dir: &Path) -> HashMap<String, Asset> {
    let mut names = Vec::new();
    list_files(dir, "", &mut names);
    let read = |name: &str| std::fs::read(dir.join(name)).ok().map(Bytes::from);
    names
        .iter()
        .filter(|name| !name.ends_with(".br") && !name.ends_with(".gz"))
        .filter_map(|name| {
            let identity = read(name)?;
            let hash = URL_SAFE_NO_PAD.encode(Md5::digest(&identity));
            let content_type = mime_guess::from_path(name)
                .first_raw()
                .unwrap_or("application/octet-stream");
            let asset = Asset {
                content_type: HeaderValue::from_static(content_type),
                etag: HeaderValue::from_str(&format!("\"{hash}\""))
                    .expect("base64url is a valid header value"),
                immutable: content_hash_in_name(name) == Some(hash.as_str()),
                identity,
                brotli: read(&format!("{name}.br")),
                gzip: read(&format!("{name}.gz")),
            };
            Some((name.clone(), asset))
        })
        .collect()
}

/// The files under `dir`, as paths relative to it with `/` between their
/// parts, after `prefix`. Links to files are followed, as `ServeDir`
/// follows them; links to folders are not: one pointing back up would
/// copy the whole bundle into memory once for each level the system
/// resolves.
fn list_files(dir: &Path, prefix: &str, names: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            list_files(&path, &format!("{prefix}{name}/"), names);
        } else if path.is_file() {
            names.push(format!("{prefix}{name}"));
        }
    }
}

fn answer(assets: &HashMap<String, Asset>, name: &str, request: &HeaderMap) -> Response {
    let Some(asset) = assets.get(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if asset.immutable {
            CACHED_FOR_GOOD
        } else {
            ASK_FIRST
        }),
    );
    headers.insert(header::ETAG, asset.etag.clone());
    if asset.brotli.is_some() || asset.gzip.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let kept = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag.as_bytes() == asset.etag.as_bytes());
    if kept {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let accepted = request
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let encoding = preferred_encoding(accepted, asset.brotli.is_some(), asset.gzip.is_some());
    if let Some(coding) = encoding.coding() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    headers.insert(header::CONTENT_TYPE, asset.content_type.clone());
    (headers, asset.copy(encoding).clone()).into_response()
}

impl Asset {
    /// The copy in `encoding`; the file itself when there is none.
    fn copy(&self, encoding: Encoding) -> &Bytes {
        match encoding {
            Encoding::Brotli => self.brotli.as_ref(),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Identity => None,
        }
        .unwrap_or(&self.identity)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// Its name in `Accept-Encoding` and `Content-Encoding`.
    fn coding(self) -> Option<&'static str> {
        match self {
            Self::Brotli => Some("br"),
            Self::Gzip => Some("gzip"),
            Self::Identity => None,
        }
    }
}

/// The copy to send for an `Accept-Encoding` header: of the copies there
/// are, the one the browser weighs highest, brotli first when it weighs
/// both alike (it is the smaller). `q=0` refuses a coding, and `*` stands
/// for the codings it does not name. Without an acceptable copy, the file
/// goes uncompressed.
fn preferred_encoding(accepted: &str, brotli: bool, gzip: bool) -> Encoding {
    let weight_of = |coding: &str| -> f32 {
        let mut wildcard = 0.0;
        for item in accepted.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(coding) {
                return q;
            }
            if name == "*" {
                wildcard = q;
            }
        }
        wildcard
    };
    let mut best = (Encoding::Identity, 0.0);
    for (encoding, there) in [(Encoding::Brotli, brotli), (Encoding::Gzip, gzip)] {
        let weight = encoding.coding().map_or(0.0, weight_of);
        if there && weight > best.1 {
            best = (encoding, weight);
        }
    }
    best.0
}

/// The hash in `name.<hash>.ext`: 22 base64url characters (128 bits).
fn content_hash_in_name(name: &str) -> Option<&str> {
    let mut parts = name.rsplit('.');
    let _extension = parts.next()?;
    let hash = parts.next()?;
    parts.next()?;
    (hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(hash)
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, response::Response};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get(router: &Router, path: &str, accept: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    /// A file named `name.<hash>.ext` with the MD5 of `content` in it.
    fn write_hashed(dir: &Path, stem: &str, ext: &str, content: &[u8]) -> String {
        let name = format!(
            "{stem}.{}.{ext}",
            URL_SAFE_NO_PAD.encode(Md5::digest(content))
        );
        std::fs::write(dir.join(&name), content).unwrap();
        name
    }

    #[tokio::test]
    async fn hashed_files_are_cached_for_good_and_sent_precompressed_to_browsers_that_take_it() {
        let dir = tempfile::tempdir().unwrap();
        let css = write_hashed(dir.path(), "outreach", "css", b"body{}");
        std::fs::write(dir.path().join(format!("{css}.br")), "brotli bytes").unwrap();
        std::fs::write(dir.path().join(format!("{css}.gz")), "gzip bytes").unwrap();
        std::fs::write(dir.path().join("outreach.css"), "old{}").unwrap();
        let chunk = write_hashed(dir.path(), "chunk_12", "wasm", b"\0asm");
        // Named after other content: rewritten since it was named.
        let rewritten = write_hashed(dir.path(), "outreach", "js", b"import './a.js'");
        std::fs::write(dir.path().join(&rewritten), "import './b.js'").unwrap();
        let router: Router = from_memory(dir.path(), "/pkg");

        let brotli = get(&router, &format!("/pkg/{css}"), Some("gzip, br")).await;
        assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(
            brotli.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            &brotli.into_body().collect().await.unwrap().to_bytes()[..],
            b"brotli bytes"
        );

        let gzip = get(&router, &format!("/pkg/{css}"), Some("gzip")).await;
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");

        let plain = get(&router, &format!("/pkg/{css}"), None).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(
            &plain.into_body().collect().await.unwrap().to_bytes()[..],
            b"body{}"
        );

        // wasm-bindgen's snippets live in folders.
        std::fs::create_dir_all(dir.path().join("snippets/app-1a2b")).unwrap();
        std::fs::write(dir.path().join("snippets/app-1a2b/inline0.js"), "export {}").unwrap();
        // A link to a folder (here, back up) is not walked.
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path(), dir.path().join("snippets/up")).unwrap();
        let router: Router = from_memory(dir.path(), "/pkg");
        #[cfg(unix)]
        assert_eq!(
            get(&router, &format!("/pkg/snippets/up/{css}"), None)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        let snippet = get(&router, "/pkg/snippets/app-1a2b/inline0.js", None).await;
        assert_eq!(snippet.status(), StatusCode::OK);
        assert_eq!(
            &snippet.into_body().collect().await.unwrap().to_bytes()[..],
            b"export {}"
        );

        // A page's piece of the split bundle, too.
        let piece = get(&router, &format!("/pkg/{chunk}"), None).await;
        assert_eq!(
            piece.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );

        // A name without a hash, or with one its content no longer has,
        // may hold something else after a rebuild: browsers ask again.
        let unhashed = get(&router, "/pkg/outreach.css", None).await;
        assert_eq!(unhashed.headers()[header::CACHE_CONTROL], "no-cache");
        let stale = get(&router, &format!("/pkg/{rewritten}"), None).await;
        assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-cache");

        let missing = get(&router, "/pkg/nothing.js", None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(missing.headers().get(header::CACHE_CONTROL).is_none());
    }

    /// A browser that kept a file asks whether it changed (always, for a
    /// file whose name says nothing of its content): the same content is
    /// answered 304, without a body.
    #[tokio::test]
    async fn a_kept_file_is_answered_not_modified_and_a_changed_one_in_full() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("outreach.js"), "import './a.js'").unwrap();
        std::fs::write(dir.path().join("outreach.js.br"), "brotli bytes").unwrap();
        let router: Router = from_memory(dir.path(), "/pkg");

        let first = get(&router, "/pkg/outreach.js", Some("br")).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CONTENT_TYPE], "text/javascript");
        assert_eq!(first.headers()[header::VARY], "accept-encoding");
        let etag = first.headers()[header::ETAG].clone();
        // The tag is the uncompressed content's, whichever copy went out.
        let plain = get(&router, "/pkg/outreach.js", None).await;
        assert_eq!(plain.headers()[header::ETAG], etag);

        let ask = |tag: HeaderValue| {
            let router = router.clone();
            async move {
                router
                    .oneshot(
                        Request::get("/pkg/outreach.js")
                            .header(header::IF_NONE_MATCH, tag)
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap()
            }
        };
        let kept = ask(etag.clone()).await;
        assert_eq!(kept.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(kept.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(
            kept.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .is_empty()
        );

        let changed = ask(HeaderValue::from_static("\"an older build's\"")).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(
            &changed.into_body().collect().await.unwrap().to_bytes()[..],
            b"import './a.js'"
        );

        // HEAD answers as GET does, without the body.
        let head = router
            .clone()
            .oneshot(
                Request::head("/pkg/outreach.js")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()[header::ETAG], etag);
        assert!(
            head.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .is_empty()
        );
    }

    /// In development, `cargo leptos watch` rewrites the files under the
    /// running server: each request reads its file, and browsers ask again.
    #[tokio::test]
    async fn a_development_builds_files_are_read_at_each_request() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("outreach.css"), "old{}").unwrap();
        let router: Router = from_disk(dir.path(), "/pkg");
        let before = get(&router, "/pkg/outreach.css", None).await;
        assert_eq!(before.headers()[header::CACHE_CONTROL], "no-cache");
        std::fs::write(dir.path().join("outreach.css"), "new{}").unwrap();
        let after = get(&router, "/pkg/outreach.css", None).await;
        assert_eq!(
            &after.into_body().collect().await.unwrap().to_bytes()[..],
            b"new{}"
        );
    }

    #[test]
    fn the_copy_sent_is_the_one_the_browser_weighs_highest_brotli_first() {
        use Encoding::{Brotli, Gzip, Identity};
        assert_eq!(
            preferred_encoding("gzip, deflate, br, zstd", true, true),
            Brotli
        );
        assert_eq!(preferred_encoding("gzip, deflate, br", false, true), Gzip);
        assert_eq!(preferred_encoding("br;q=0.5, gzip", true, true), Gzip);
        assert_eq!(preferred_encoding("br;q=0, gzip;q=0", true, true), Identity);
        assert_eq!(preferred_encoding("*", true, true), Brotli);
        assert_eq!(preferred_encoding("*;q=0.1, br;q=0", true, true), Gzip);
        assert_eq!(preferred_encoding("identity", true, true), Identity);
        assert_eq!(preferred_encoding("", true, true), Identity);
        assert_eq!(preferred_encoding("BR", true, false), Brotli);
    }

    #[test]
    fn a_content_hash_is_the_22_character_part_before_the_extension() {
        assert_eq!(
            content_hash_in_name("outreach.CTvX1C0dd_W1kBtPKtCb5g.js"),
            Some("CTvX1C0dd_W1kBtPKtCb5g")
        );
        assert_eq!(
            content_hash_in_name("__wasm_split.CTvX1C0dd_W1kBtPKtCb5g.js"),
            Some("CTvX1C0dd_W1kBtPKtCb5g")
        );
        assert_eq!(content_hash_in_name("outreach.js"), None);
        assert_eq!(content_hash_in_name("outreach.Old1.css"), None);
        assert_eq!(content_hash_in_name("CTvX1C0dd_W1kBtPKtCb5g.js"), None);
    }
}
