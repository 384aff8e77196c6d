//! The browser bundle under `/pkg/`: the WASM, its JavaScript glue and the
//! stylesheet. A release build names each file after its content's hash
//! (cargo-leptos' `hash-files`, listed in `hash.txt` beside the binary), so
//! a browser may keep those for a year without asking again; brotli and
//! gzip copies made at build time (`scripts/compress-bundle.sh`) go to
//! browsers that accept them, with no compression work per request.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::{self, Next},
};
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

/// The hashes cargo-leptos wrote to `hash.txt` (`js: …`, `wasm: …`,
/// `css: …`), when the build hashed its files.
pub fn content_hashes(options: &LeptosOptions) -> Vec<String> {
    if !options.hash_files {
        return Vec::new();
    }
    std::fs::read_to_string(hash_file(&options.hash_file))
        .map(|text| parse_hashes(&text))
        .unwrap_or_default()
}

/// Where Leptos looks for the hash list: beside the running binary.
pub fn hash_file(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(name)
}

fn parse_hashes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(_, hash)| hash.trim().to_owned())
        .filter(|hash| !hash.is_empty())
        .collect()
}

pub fn router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    serve(
        &dir,
        &format!("/{}", options.site_pkg_dir),
        content_hashes(options),
    )
}

/// Serves `dir` at `prefix`; files named with one of `hashes` are immutable.
fn serve<S: Clone + Send + Sync + 'static>(
    dir: &Path,
    prefix: &str,
    hashes: Vec<String>,
) -> Router<S> {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let hashes: Arc<[String]> = hashes.into();
    Router::new()
        .nest_service(prefix, files)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let hashes = hashes.clone();
            async move {
                let immutable = is_hashed(request.uri().path(), &hashes);
                let mut response = next.run(request).await;
                if response.status().is_success() {
                    response.headers_mut().insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static(if immutable {
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

/// Whether the file's name carries one of this build's content hashes
/// (`outreach.<hash>.wasm`).
fn is_hashed(path: &str, hashes: &[String]) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('.')
        .any(|part| hashes.iter().any(|hash| hash == part))
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

    #[tokio::test]
    async fn hashed_files_are_cached_for_good_and_sent_precompressed_to_browsers_that_take_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("outreach.H4sh.css"), "body{}").unwrap();
        std::fs::write(dir.path().join("outreach.H4sh.css.br"), "brotli bytes").unwrap();
        std::fs::write(dir.path().join("outreach.H4sh.css.gz"), "gzip bytes").unwrap();
        std::fs::write(dir.path().join("outreach.css"), "old{}").unwrap();
        let router: Router = serve(dir.path(), "/pkg", vec!["H4sh".to_owned()]);

        let brotli = get(&router, "/pkg/outreach.H4sh.css", Some("gzip, br")).await;
        assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(
            brotli.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            &brotli.into_body().collect().await.unwrap().to_bytes()[..],
            b"brotli bytes"
        );

        let gzip = get(&router, "/pkg/outreach.H4sh.css", Some("gzip")).await;
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");

        let plain = get(&router, "/pkg/outreach.H4sh.css", None).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(
            &plain.into_body().collect().await.unwrap().to_bytes()[..],
            b"body{}"
        );

        // A name without this build's hash may change: browsers ask again.
        let unhashed = get(&router, "/pkg/outreach.css", None).await;
        assert_eq!(unhashed.headers()[header::CACHE_CONTROL], "no-cache");

        let missing = get(&router, "/pkg/nothing.js", None).await;
        assert_eq!(missing.status(), axum::http::StatusCode::NOT_FOUND);
        assert!(missing.headers().get(header::CACHE_CONTROL).is_none());
    }

    #[test]
    fn only_files_named_with_this_builds_hashes_are_immutable() {
        let hashes = parse_hashes("js: Ab3_x-9\nwasm: Qz7\ncss: Kk1\n\n");
        assert_eq!(hashes, ["Ab3_x-9", "Qz7", "Kk1"]);
        assert!(is_hashed("/pkg/outreach.Ab3_x-9.js", &hashes));
        assert!(is_hashed("/pkg/outreach.Qz7.wasm", &hashes));
        assert!(!is_hashed("/pkg/outreach.js", &hashes));
        assert!(!is_hashed("/pkg/outreach.Old1.css", &hashes));
        assert!(!is_hashed("/pkg/outreach.css", &[]));
    }
}
