// The migrations are compiled in (`sqlx::migrate!`): a new one must rebuild
// the crate even when no Rust file changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
