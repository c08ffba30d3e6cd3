//! NIfTI-1 / NIfTI-2 / Analyze 7.5 (being written).
use crate::error::{Error, Result};
use crate::image::DynImage;
use std::path::Path;

/// Read a NIfTI file or .hdr/.img pair.
pub fn read(path: &Path, _opts: &super::ReadOptions) -> Result<DynImage> {
    Err(Error::unsupported(format!(
        "{}: NIfTI reading not implemented yet",
        path.display()
    )))
}

/// Write a NIfTI file.
pub fn write(path: &Path, _img: &DynImage, _opts: &super::WriteOptions) -> Result<()> {
    Err(Error::unsupported(format!(
        "{}: NIfTI writing not implemented yet",
        path.display()
    )))
}
