//! The browser bundles under `/pkg/`: the WASM, its JavaScript glue and the
//! stylesheet, the pieces of the app's split bundle and the islands bundle.
//! A release build names files after their content's hash (cargo-leptos'
//! `hash-files`; `hash.txt` and `hash-islands.txt` beside the binary tell
//! Leptos the main ones), so a browser may keep
//! those for a year without asking again; brotli and
//! gzip copies made at build time (`scripts/compress-bundle.sh`) go to
//! browsers that accept them, with no compression work per request.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::{self, Next},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
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
    let immutable = if options.hash_files {
        named_after_their_content(&dir)
    } else {
        HashSet::new()
    };
    serve(&dir, &format!("/{}", options.site_pkg_dir), immutable)
}

/// The files in `dir` whose name carries the hash of what they hold
/// (`name.<hash>.ext`, the base64url MD5 cargo-leptos names them with):
/// those never change, whatever is built later. cargo-leptos rewrites some
/// files after naming them (the main JavaScript, to import the loader of
/// the split bundle, whose own name depends on what it loads): their name
/// no longer says what they hold, so browsers ask again for them.
fn named_after_their_content(dir: &Path) -> HashSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashSet::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let hash = content_hash_in_name(&name)?;
            let content = std::fs::read(entry.path()).ok()?;
            (URL_SAFE_NO_PAD.encode(Md5::digest(&content)) == hash).then_some(name)
        })
        .collect()
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

/// Serves `dir` at `prefix`; the files named in `immutable` are cached for
/// good, the others are revalidated.
fn serve<S: Clone + Send + Sync + 'static>(
    dir: &Path,
    prefix: &str,
    immutable: HashSet<String>,
) -> Router<S> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let immutable: Arc<HashSet<String>> = Arc::new(immutable);
    let prefix = format!("{prefix}/");
    Router::new()
        .nest_service(&prefix[..prefix.len() - 1], files)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let immutable = immutable.clone();
            let name = request
                .uri()
                .path()
                .strip_prefix(&prefix)
                .map(str::to_owned);
            async move {
                let forever = name.is_some_and(|name| immutable.contains(&name));
                let mut response = next.run(request).await;
                if response.status().is_success() {
                    response.headers_mut().insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static(if forever {
                            "public, max-age=31536000, immutable"
                        } else {
                            // Same name, new content after a rebuild: ask first.
                            "no-cache"
                        }),
                    );
                }
                response
            }
        }))
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
        let router: Router = serve(dir.path(), "/pkg", named_after_their_content(dir.path()));

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
        assert_eq!(missing.status(), axum::http::StatusCode::NOT_FOUND);
        assert!(missing.headers().get(header::CACHE_CONTROL).is_none());
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
