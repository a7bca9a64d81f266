//! The one bounded file reader. Every file the daemon or a probe reads (config, includes, secrets,
//! units, plists, crontabs, scripts, env files, tokens, heartbeats, markdown, `/proc` entries)
//! goes through here. It owns three rules: only regular files are read (a FIFO, device, socket or
//! directory is refused without blocking: the file is opened with `O_NONBLOCK` and judged by
//! `fstat` of the opened descriptor, so a FIFO cannot stall the caller and no race swaps the
//! file), at most `cap` bytes are read with `take()` (metadata is never trusted: `/proc` files and
//! devices report a length of 0), and a file longer than the cap is an error naming the cap, never
//! a partial text judged as clean. It must not decide what a file means; callers parse and judge.
//!
//! The functions are blocking. From async code use the `*_async` variants, which run on tokio's
//! blocking pool so that a slow disk never stalls the runtime's threads.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Default cap for small text files (config, units, plists, crontabs, env files, tokens).
pub const SMALL: u64 = 1024 * 1024;
/// Default cap for documents that may legitimately be larger (JSON configs, markdown, logs).
pub const LARGE: u64 = 16 * 1024 * 1024;

/// Why a file could not be read in full. `Display` names the path and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{}: no such file", .path.display())]
    Missing { path: PathBuf },
    #[error("{}: permission denied", .path.display())]
    Denied { path: PathBuf },
    #[error("{}: not a regular file ({what}); refusing to read it", .path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{}: truncated at {cap} bytes (the file is longer); not judged", .path.display())]
    TooLarge { path: PathBuf, cap: u64 },
    #[error("{}: not valid UTF-8 at byte {offset}", .path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{}: {message}", .path.display())]
    Io { path: PathBuf, message: String },
}

impl ReadError {
    /// True when the file does not exist (some probes treat absence as a finding of its own).
    pub fn is_missing(&self) -> bool {
        matches!(self, ReadError::Missing { .. })
    }
    /// What went wrong, without the path (for callers that name the file themselves):
    /// "not a regular file (a FIFO)", "truncated at 1024 bytes (the file is longer)".
    pub fn reason(&self) -> String {
        match self {
            ReadError::Missing { .. } => "no such file".into(),
            ReadError::Denied { .. } => "permission denied".into(),
            ReadError::NotRegular { what, .. } => format!("not a regular file ({what})"),
            ReadError::TooLarge { cap, .. } => {
                format!("truncated at {cap} bytes (the file is longer); not judged")
            }
            ReadError::NotUtf8 { offset, .. } => format!("not valid UTF-8 at byte {offset}"),
            ReadError::Io { message, .. } => message.clone(),
        }
    }
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Missing { path }
            | ReadError::Denied { path }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotUtf8 { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ReadError {
    let path = path.to_path_buf();
    match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing { path },
        std::io::ErrorKind::PermissionDenied => ReadError::Denied { path },
        _ => ReadError::Io {
            path,
            message: e.to_string(),
        },
    }
}

/// Opens `path` for reading without blocking on FIFOs and checks that the opened descriptor is a
/// regular file.
fn open_regular(path: &Path) -> Result<File, ReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    let ft = meta.file_type();
    let what = if ft.is_file() {
        return Ok(file);
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "not a file"
    };
    Err(ReadError::NotRegular {
        path: path.to_path_buf(),
        what,
    })
}

/// The whole file as bytes, at most `cap` of them; longer is `TooLarge`.
pub fn bytes(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut buf = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| io_error(path, e))?;
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            cap,
        });
    }
    Ok(buf)
}

/// The first `n` bytes of a regular file (fewer when it is shorter), to sniff what it is (an
/// executable's magic number) without reading the rest.
pub fn head(path: &Path, n: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut buf = Vec::new();
    file.take(n)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(path, e))?;
    Ok(buf)
}

/// The whole file as UTF-8 text, at most `cap` bytes; invalid UTF-8 is `NotUtf8` with the offset.
pub fn text(path: &Path, cap: u64) -> Result<String, ReadError> {
    let buf = bytes(path, cap)?;
    String::from_utf8(buf).map_err(|e| ReadError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// The whole file as text, invalid UTF-8 replaced (for files whose parser reports positions
/// itself, or that are only searched).
pub fn text_lossy(path: &Path, cap: u64) -> Result<String, ReadError> {
    let buf = bytes(path, cap)?;
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// The last `max` bytes of a regular file (for logs that grow without bound), lossily decoded,
/// starting at the first full line when the file was cut. The second value is true when the
/// file was longer than `max`.
pub fn tail(path: &Path, max: u64) -> Result<(String, bool), ReadError> {
    let mut file = open_regular(path)?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    let start = len.saturating_sub(max);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| io_error(path, e))?;
    let mut buf = Vec::new();
    file.take(max)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(path, e))?;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    let cut = start > 0;
    if cut {
        // a cut file's first line is partial: drop it, even when it is the only one (a tail
        // with no full line is empty, never a fragment judged as the last line)
        match text.find('\n') {
            Some(nl) => drop(text.drain(..=nl)),
            None => text.clear(),
        }
    }
    Ok((text, cut))
}

/// `bytes` on tokio's blocking pool.
pub async fn bytes_async(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let p = path.to_path_buf();
    blocking(path, move || bytes(&p, cap)).await
}

/// `text` on tokio's blocking pool.
pub async fn text_async(path: &Path, cap: u64) -> Result<String, ReadError> {
    let p = path.to_path_buf();
    blocking(path, move || text(&p, cap)).await
}

/// `text_lossy` on tokio's blocking pool.
pub async fn text_lossy_async(path: &Path, cap: u64) -> Result<String, ReadError> {
    let p = path.to_path_buf();
    blocking(path, move || text_lossy(&p, cap)).await
}

async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> Result<T, ReadError> + Send + 'static,
) -> Result<T, ReadError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(ReadError::Io {
            path: path.to_path_buf(),
            message: format!("reader task failed: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_small_files_and_refuses_longer_than_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(text(&p, 5).unwrap(), "hello");
        let e = text(&p, 4).unwrap_err();
        assert_eq!(
            e,
            ReadError::TooLarge {
                path: p.clone(),
                cap: 4
            }
        );
        assert!(e.to_string().contains("truncated at 4 bytes"), "{e}");
    }

    #[test]
    fn refuses_fifos_without_blocking_and_devices_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = bytes(&fifo, 10).unwrap_err();
        assert!(
            matches!(e, ReadError::NotRegular { what: "a FIFO", .. }),
            "{e}"
        );
        let e = bytes(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::NotRegular {
                    what: "a character device",
                    ..
                }
            ),
            "{e}"
        );
        let e = bytes(dir.path(), 10).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { .. }), "{e}");
        assert!(
            bytes(&dir.path().join("nope"), 10)
                .unwrap_err()
                .is_missing()
        );
    }

    #[test]
    fn proc_files_with_zero_length_are_read() {
        let t = text(Path::new("/proc/self/status"), SMALL).unwrap();
        assert!(t.contains("Pid:"));
    }

    #[test]
    fn invalid_utf8_names_the_offset_and_tail_starts_at_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"ab\xffcd").unwrap();
        assert!(matches!(
            text(&p, 100),
            Err(ReadError::NotUtf8 { offset: 2, .. })
        ));
        std::fs::write(&p, b"one\ntwo\nthree\n").unwrap();
        let (t, cut) = tail(&p, 8).unwrap();
        assert!(cut);
        assert_eq!(t, "three\n");
        // a last line longer than the tail is no line at all, never a fragment of one
        std::fs::write(&p, b"one\n0123456789abcdef\n").unwrap();
        assert_eq!(tail(&p, 8).unwrap(), (String::new(), true));
        std::fs::write(&p, b"0123456789abcdef").unwrap();
        assert_eq!(tail(&p, 8).unwrap(), (String::new(), true));
    }
}
