fn main() -> std::process::ExitCode {
    give_large_blocks_back();
    server::cli::run()
}

/// Blocks of a megabyte or more (a million-recipient audience's text, its
/// parsed rows, a request body) get memory of their own from the system and
/// give it back when freed. By default glibc raises that threshold after
/// the first such block is freed, so later ones stay in its heaps: after
/// one large audience the next is added on top, and the process's peak in
/// the hostile-tenant check was 260-290 MiB instead of ~160.
fn give_large_blocks_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; it is called
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
