//! Reading and writing images, one file per format.
//!
//! [`read`] and [`write`] pick the format from the file name ([`Format::from_path`]) and, for
//! reading, confirm it from the first bytes ([`Format::sniff`]). Every reader:
//! * returns a typed [`Error`] for malformed input (never panics);
//! * never allocates more than the file can justify before checking sizes ([`Limits`]);
//! * returns geometry in LPS.
//!
//! Every writer writes to a temporary file beside the target and renames it into place only on
//! success ([`atomic_write`]), so a failed or cancelled write leaves no partial output and never
//! touches an existing file until the new one is complete.

pub mod analyze;
pub mod compress;
#[cfg(feature = "dicom")]
pub mod dicom;
#[cfg(feature = "dicom")]
mod dicom_guard;
pub mod metaimage;
pub mod minc;
pub mod nifti;
pub mod npy;
pub mod nrrd;
mod pinflate;

use crate::error::{Error, ErrorKind, Result};
use crate::image::DynImage;
use std::path::{Path, PathBuf};

/// Resource limits applied while reading untrusted files.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest decoded pixel buffer, in bytes.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // 16 GiB: larger than any clinical volume, smaller than what would take the host down.
        Limits {
            max_bytes: 16 << 30,
        }
    }
}

/// How to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Apply the file's intensity scaling (NIfTI `scl_slope`/`scl_inter`, DICOM rescale) and
    /// return float32 (float64 if the stored type is 64-bit) — what SimpleITK does. Off by
    /// default: values come back in the stored type, unscaled, except where a format requires
    /// scaling to be meaningful (documented per format).
    pub apply_scaling: bool,
    /// Resource limits.
    pub limits: Limits,
    /// For multi-series inputs (DICOM folders): the series to read.
    pub series: Option<String>,
}

/// How to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Compression level for compressed outputs (libdeflate 1–12; `None` = format default).
    pub compression_level: Option<u32>,
}

/// A file format medseg knows by name.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NIfTI-1 or NIfTI-2 single file, `.nii` or `.nii.gz`.
    Nifti,
    /// A `.hdr` + `.img` pair: NIfTI-1/2 pair or Analyze 7.5 (told apart by the header magic).
    NiftiPair,
    Nrrd,
    MetaImage,
    Dicom,
    Minc,
    Npy,
    Npz,
}

impl Format {
    /// The format named by a path's extension (case-insensitive; `.gz` variants included).
    pub fn from_path(path: &Path) -> Result<Format> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let f = if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Format::Nifti
        } else if name.ends_with(".hdr")
            || name.ends_with(".img")
            || name.ends_with(".hdr.gz")
            || name.ends_with(".img.gz")
        {
            Format::NiftiPair
        } else if name.ends_with(".nrrd") || name.ends_with(".nhdr") {
            Format::Nrrd
        } else if name.ends_with(".mha") || name.ends_with(".mhd") {
            Format::MetaImage
        } else if name.ends_with(".dcm") || path.is_dir() {
            Format::Dicom
        } else if name.ends_with(".mnc") {
            Format::Minc
        } else if name.ends_with(".npy") {
            Format::Npy
        } else if name.ends_with(".npz") {
            Format::Npz
        } else {
            return Err(Error::unsupported(format!(
                "{}: unknown file extension (known: .nii, .nii.gz, .hdr/.img, .nrrd, .nhdr, .mha, .mhd, .dcm, .mnc, .npy, .npz)",
                path.display()
            )));
        };
        Ok(f)
    }

    /// The format named by the first bytes of a file, if recognisable.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.len() >= 348 {
            let le = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let be = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            if [348, 540].contains(&le) || [348, 540].contains(&be) {
                return Some(
                    if &head[344..347] == b"n+1" || head.get(4..7) == Some(b"n+2") {
                        Format::Nifti
                    } else {
                        Format::NiftiPair
                    },
                );
            }
        }
        if head.starts_with(b"NRRD") {
            return Some(Format::Nrrd);
        }
        if head.starts_with(b"\x93NUMPY") {
            return Some(Format::Npy);
        }
        if head.starts_with(b"PK\x03\x04") {
            return Some(Format::Npz);
        }
        if head.starts_with(b"\x89HDF\r\n\x1a\n")
            || head.starts_with(b"CDF\x01")
            || head.starts_with(b"CDF\x02")
        {
            return Some(Format::Minc);
        }
        if head.len() >= 132 && &head[128..132] == b"DICM" {
            return Some(Format::Dicom);
        }
        None
    }
}

/// Read an image, format chosen from the extension.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DynImage> {
    let f = Format::from_path(path)?;
    let r = match f {
        Format::Nifti | Format::NiftiPair => nifti::read(path, opts),
        Format::Npy => npy::read(path, opts),
        Format::MetaImage => metaimage::read(path, opts),
        Format::Nrrd => nrrd::read(path, opts),
        Format::Npz => npy::read_npz(path, opts),
        #[cfg(feature = "dicom")]
        Format::Dicom => dicom::read(path, opts),
        Format::Minc => minc::read(path, opts),
        #[allow(unreachable_patterns)] // every format is readable when all features are on
        other => Err(Error::unsupported(format!(
            "reading {other:?} files is not available in this build"
        ))),
    };
    in_context(r, path)
}

/// `r`, its error naming `path` if it does not already.
fn in_context<T>(r: Result<T>, path: &Path) -> Result<T> {
    r.map_err(|e| {
        if e.message().contains(&path.display().to_string()) {
            e
        } else {
            e.context(path.display())
        }
    })
}

/// Convert `input` to `output`, formats chosen from the names: the same file as
/// `write(output, &read(input, ropts)?, wopts)`, faster where a pair of formats allows it (a
/// DICOM series to an uncompressed `.nii` is written slice by slice from the input files, see
/// [`dicom::convert`]). Atomic like [`write()`]; the input is never modified.
pub fn convert(
    input: &Path,
    output: &Path,
    ropts: &ReadOptions,
    wopts: &WriteOptions,
) -> Result<()> {
    #[cfg(feature = "dicom")]
    if Format::from_path(input)? == Format::Dicom {
        return in_context(dicom::convert(input, output, ropts, wopts), input);
    }
    let img = read(input, ropts)?;
    write(output, &img, wopts)
}

/// Write an image, format chosen from the extension. Atomic: on error nothing is left behind.
pub fn write(path: &Path, img: &DynImage, opts: &WriteOptions) -> Result<()> {
    let f = Format::from_path(path)?;
    let r = match f {
        Format::Nifti | Format::NiftiPair => nifti::write(path, img, opts),
        Format::Npy => npy::write(path, img, opts),
        Format::MetaImage => metaimage::write(path, img, opts),
        Format::Nrrd => nrrd::write(path, img, opts),
        Format::Npz => npy::write_npz_image(path, img, opts),
        other => Err(Error::unsupported(format!(
            "writing {other:?} files is not available in this build"
        ))),
    };
    in_context(r, path)
}

/// Read a whole file, refusing files larger than the limit allows.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("{} is a directory", path.display()),
        ));
    }
    if meta.len() > limits.max_bytes {
        return Err(Error::too_large(format!(
            "{} is {} bytes, over the limit of {}",
            path.display(),
            meta.len(),
            limits.max_bytes
        )));
    }
    // Into a buffer sized from the metadata (huge pages when large), then whatever more the
    // file holds by the time it is read.
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut v: Vec<u8> = crate::image::buffer::zeroed(meta.len() as usize);
    let mut got = 0;
    while got < v.len() {
        match f.read(&mut v[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    v.truncate(got);
    f.read_to_end(&mut v).map_err(|e| Error::io(path, e))?;
    Ok(v)
}

/// Read a file and inflate it if it is gzip-compressed (by content, not by name).
pub fn read_maybe_gz(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let raw = read_file(path, limits)?;
    if compress::is_gzip(&raw) {
        compress::gunzip(&raw, limits.max_bytes).map_err(|e| e.context(path.display()))
    } else {
        Ok(raw)
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let unique = format!(
        ".{name}.medseg-{}-{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    );
    let unique: String = unique
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
        .collect();
    path.with_file_name(unique)
}

/// Write files atomically: `f` receives, for each target path, a temporary path to write;
/// all temporaries are renamed into place only when `f` succeeds, and removed otherwise.
pub fn atomic_write_many(
    targets: &[&Path],
    f: impl FnOnce(&[PathBuf]) -> Result<()>,
) -> Result<()> {
    let temps: Vec<PathBuf> = targets.iter().map(|p| temp_path(p)).collect();
    let cleanup = |temps: &[PathBuf]| {
        for t in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    if let Err(e) = f(&temps) {
        cleanup(&temps);
        return Err(e);
    }
    for (t, p) in temps.iter().zip(targets) {
        if let Err(e) = std::fs::rename(t, p) {
            cleanup(&temps);
            return Err(Error::io(p, e));
        }
    }
    Ok(())
}

/// Write `bytes` to `path` atomically.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_many(&[path], |t| {
        std::fs::write(&t[0], bytes).map_err(|e| Error::io(path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        assert_eq!(
            Format::from_path(Path::new("a/b.NII.GZ")).unwrap(),
            Format::Nifti
        );
        assert_eq!(
            Format::from_path(Path::new("x.hdr")).unwrap(),
            Format::NiftiPair
        );
        assert_eq!(
            Format::from_path(Path::new("x.mha")).unwrap(),
            Format::MetaImage
        );
        assert!(Format::from_path(Path::new("x.txt")).is_err());
    }

    #[test]
    fn atomic_write_leaves_nothing_on_error() {
        let dir = std::env::temp_dir().join(format!("medseg-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.bin");
        let r = atomic_write_many(&[&p], |t| {
            std::fs::write(&t[0], b"partial").unwrap();
            Err(Error::internal("boom"))
        });
        assert!(r.is_err());
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        atomic_write(&p, b"ok").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"ok");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
