//! Where the ONNX Runtime shared library is found. Pure path logic; nothing is downloaded.
//!
//! Search order (first hit wins; a variable that is set but points nowhere is an error, not a
//! silent fall-through):
//!
//! 1. an explicit path given by the caller (API / `--ort-lib`), a file or a folder;
//! 2. `MEDSEG_ORT_DYLIB`;
//! 3. `ORT_DYLIB_PATH`;
//! 4. next to the shared library medseg was loaded from, when it is one (`libmedseg.so` inside
//!    Slicer or a ctypes host: `<lib dir>/`, `<lib dir>/../lib/`), then next to the executable
//!    (`<exe dir>/`, `<exe dir>/../lib/`);
//! 5. the project-local folder `third_party/onnxruntime/lib/` installed by
//!    `tools/setup_ort.sh`, looked up from the executable's folder upwards and from the source
//!    tree this crate was built from (`CARGO_MANIFEST_DIR`);
//! 6. otherwise a [`Runtime`](crate::ErrorKind::Runtime) error saying how to install it.

use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// The ONNX Runtime minor version this build targets (ort rc.15 = API 31).
pub const ORT_MINOR: u32 = 31;

/// Environment variable naming the library (ours).
pub const ENV_MEDSEG: &str = "MEDSEG_ORT_DYLIB";
/// Environment variable naming the library (ort's).
pub const ENV_ORT: &str = "ORT_DYLIB_PATH";
/// The project-local folder, relative to a project root.
pub const LOCAL_DIR: &str = "third_party/onnxruntime/lib";

/// How to install the runtime (used in error messages).
pub const INSTALL_HINT: &str = "install it with `tools/setup_ort.sh` (onnxruntime 1.31 from PyPI into third_party/onnxruntime/lib), or point MEDSEG_ORT_DYLIB at libonnxruntime.so.1.31.x";

/// A library file found, and which rule found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub source: String,
}

fn is_ort_name(name: &str) -> bool {
    (name.starts_with("libonnxruntime.so") && !name.contains("providers"))
        || (name.starts_with("libonnxruntime.") && name.ends_with(".dylib"))
        || name == "onnxruntime.dll"
}

/// The runtime library inside `dir` (highest version first), if any.
pub fn library_in_dir(dir: &Path) -> Option<PathBuf> {
    let rd = std::fs::read_dir(dir).ok()?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| is_ort_name(n))
        .collect();
    // Prefer versioned names (the wheel ships only libonnxruntime.so.1.x.y), newest first.
    names.sort_by_key(|n| std::cmp::Reverse(version_key(n)));
    names.first().map(|n| dir.join(n))
}

fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn resolve_given(p: &Path, what: &str) -> Result<PathBuf> {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    if p.is_file() {
        return Ok(p);
    }
    if p.is_dir()
        && let Some(f) = library_in_dir(&p).or_else(|| library_in_dir(&p.join("lib")))
    {
        return Ok(f);
    }
    Err(Error::new(
        ErrorKind::Runtime,
        format!(
            "{what} names {}, which is not an ONNX Runtime library or a folder holding one; {INSTALL_HINT}",
            p.display()
        ),
    ))
}

/// Folders searched after the explicit path and the variables, in order.
pub fn search_dirs() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let exe = std::env::current_exe().ok();
    if let Some(lib) = loaded_from()
        && Some(&lib) != exe.as_ref()
        && let Some(dir) = lib.parent()
    {
        out.push((dir.to_path_buf(), "next to the library".to_string()));
        out.push((
            dir.join("../lib"),
            "next to the library (../lib)".to_string(),
        ));
    }
    if let Some(exe) = exe
        && let Some(dir) = exe.parent()
    {
        out.push((dir.to_path_buf(), "next to the executable".to_string()));
        out.push((
            dir.join("../lib"),
            "next to the executable (../lib)".to_string(),
        ));
        for anc in dir.ancestors().take(6) {
            out.push((
                anc.join(LOCAL_DIR),
                "project-local folder (from the executable)".to_string(),
            ));
        }
    }
    out.push((
        Path::new(env!("CARGO_MANIFEST_DIR")).join(LOCAL_DIR),
        "project-local folder (source tree)".to_string(),
    ));
    out
}

/// The file this code was mapped from: the shared library (`libmedseg.so`) when medseg was
/// loaded as one, else the executable it is linked into. Read from `/proc/self/maps` (the mapping
/// that holds this function's own address); `None` where that file does not exist (not Linux).
pub fn loaded_from() -> Option<PathBuf> {
    let here = loaded_from as fn() -> Option<PathBuf> as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps_entry(&maps, here)
}

/// The path of the mapping of `maps` (the text of `/proc/self/maps`) that contains `addr`.
fn maps_entry(maps: &str, addr: usize) -> Option<PathBuf> {
    maps.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        let (lo, hi) = f.next()?.split_once('-')?;
        let (lo, hi) = (
            usize::from_str_radix(lo, 16).ok()?,
            usize::from_str_radix(hi, 16).ok()?,
        );
        if !(lo..hi).contains(&addr) {
            return None;
        }
        // perms, offset, device, inode, then the path (which may contain spaces).
        let path = line.splitn(6, char::is_whitespace).nth(5)?.trim_start();
        path.starts_with('/').then(|| PathBuf::from(path))
    })
}

/// Find the runtime library (see the module docs for the order).
pub fn find(explicit: Option<&Path>) -> Result<Found> {
    if let Some(p) = explicit {
        return Ok(Found {
            path: resolve_given(p, "the explicit runtime path")?,
            source: "explicit path".into(),
        });
    }
    for var in [ENV_MEDSEG, ENV_ORT] {
        if let Some(v) = std::env::var_os(var)
            && !v.is_empty()
        {
            return Ok(Found {
                path: resolve_given(Path::new(&v), var)?,
                source: format!("${var}"),
            });
        }
    }
    let dirs = search_dirs();
    for (d, why) in &dirs {
        if let Some(f) = library_in_dir(d) {
            let path = f.canonicalize().unwrap_or(f);
            return Ok(Found {
                path,
                source: why.clone(),
            });
        }
    }
    let searched: Vec<String> = dirs.iter().map(|(d, _)| d.display().to_string()).collect();
    Err(Error::new(
        ErrorKind::Runtime,
        format!(
            "ONNX Runtime library not found (no explicit path, ${ENV_MEDSEG} and ${ENV_ORT} unset; searched {}); {INSTALL_HINT}",
            searched.join(", ")
        ),
    ))
}

/// GPUs the operating system shows (NVIDIA driver entries), for `medseg doctor`.
pub fn visible_gpus() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc/driver/nvidia/gpus") {
        for e in rd.filter_map(|e| e.ok()) {
            let info = std::fs::read_to_string(e.path().join("information")).unwrap_or_default();
            let model = info
                .lines()
                .find_map(|l| l.strip_prefix("Model:"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|| "NVIDIA GPU".into());
            out.push(format!("{model} (bus {})", e.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_entry_finds_the_mapping_of_an_address() {
        let maps = "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/host app\n\
                    7f0000000000-7f0000100000 r-xp 00001000 08:02 42 /opt/slicer/lib/libmedseg.so\n\
                    7f0000200000-7f0000300000 rw-p 00000000 00:00 0 \n";
        assert_eq!(
            maps_entry(maps, 0x7f0000000010),
            Some(PathBuf::from("/opt/slicer/lib/libmedseg.so"))
        );
        assert_eq!(
            maps_entry(maps, 0x00400100),
            Some(PathBuf::from("/usr/bin/host app"))
        );
        assert_eq!(maps_entry(maps, 0x7f0000200010), None, "anonymous mapping");
        assert_eq!(maps_entry(maps, 0x10), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn loaded_from_is_this_test_executable() {
        // Linked statically into the test binary: the mapping is the executable itself.
        let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
        assert_eq!(loaded_from().unwrap().canonicalize().unwrap(), exe);
    }

    #[test]
    fn finds_versioned_library_in_a_folder() {
        let d = std::env::temp_dir().join(format!("medseg-rt-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for n in [
            "libonnxruntime.so.1.31.1",
            "libonnxruntime.so.1.9.0",
            "libonnxruntime_providers_shared.so",
        ] {
            std::fs::write(d.join(n), b"x").unwrap();
        }
        assert_eq!(
            library_in_dir(&d).unwrap(),
            d.join("libonnxruntime.so.1.31.1")
        );
        assert_eq!(
            resolve_given(&d, "t").unwrap(),
            d.join("libonnxruntime.so.1.31.1")
        );
        let e = resolve_given(&d.join("nope"), "MEDSEG_ORT_DYLIB").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Runtime);
        assert!(e.message().contains("MEDSEG_ORT_DYLIB"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
