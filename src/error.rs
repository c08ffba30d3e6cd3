//! One error type for the whole engine.
//!
//! Every fallible function returns [`Result<T>`]. An [`Error`] carries an [`ErrorKind`] (what went
//! wrong, stable and matchable), a human message naming the problem (file, field, value), and an
//! optional source error. The C ABI maps each kind to exactly one `medseg_status` number
//! (`ffi::boundary`), so kinds are never renumbered or reused.

use std::fmt;

/// What went wrong. New kinds may be added; existing ones are never repurposed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The operating system refused a file operation (not found, permission, disk full).
    Io,
    /// A file's bytes do not follow its format (bad magic, truncated, inconsistent header).
    Format,
    /// A valid file or request that this build cannot handle (codec, transfer syntax, datatype).
    Unsupported,
    /// An argument is out of range or malformed.
    InvalidArgument,
    /// Spacing, direction or size is not a valid image grid.
    InvalidGeometry,
    /// The pixel type is not the one the operation needs.
    PixelType,
    /// Two inputs that must share a grid or a shape do not.
    Mismatch,
    /// A size would exceed a configured limit (memory, voxels) or overflow.
    TooLarge,
    /// A model folder, manifest or network is missing or inconsistent.
    Model,
    /// The inference runtime (ONNX Runtime) is missing, the wrong version, or failed.
    Runtime,
    /// The requested device (GPU) is unavailable.
    Device,
    /// The caller cancelled the operation through its progress callback.
    Cancelled,
    /// A pipeline precondition on the image content failed (e.g. no landmark found).
    Content,
    /// A bug in medseg: an invariant did not hold.
    Internal,
}

impl ErrorKind {
    /// A short lowercase name, stable for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::Format => "format",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::InvalidGeometry => "invalid_geometry",
            ErrorKind::PixelType => "pixel_type",
            ErrorKind::Mismatch => "mismatch",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Model => "model",
            ErrorKind::Runtime => "runtime",
            ErrorKind::Device => "device",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Content => "content",
            ErrorKind::Internal => "internal",
        }
    }
}

/// The engine's error: a kind, a message naming the problem, and an optional cause.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `std::result::Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attach the underlying cause (kept in the chain printed by the CLI).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Prefix the message with context, e.g. the file being read.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message followed by every cause, joined by ": ".
    pub fn chain(&self) -> String {
        let mut s = self.message.clone();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(e) = cur {
            s.push_str(": ");
            s.push_str(&e.to_string());
            cur = e.source();
        }
        s
    }

    /// Shorthand constructors, one per kind.
    pub fn format(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Format, m)
    }
    pub fn unsupported(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, m)
    }
    pub fn invalid_argument(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, m)
    }
    pub fn invalid_geometry(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidGeometry, m)
    }
    pub fn pixel_type(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::PixelType, m)
    }
    pub fn mismatch(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Mismatch, m)
    }
    pub fn too_large(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, m)
    }
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ErrorKind::Format,
            _ => ErrorKind::Io,
        };
        let what = if kind == ErrorKind::Format {
            "file is truncated"
        } else {
            "cannot access file"
        };
        Self::new(kind, format!("{}: {what}", path.display())).with_source(e)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {})", self.kind.name(), self.chain())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_includes_sources() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Error::new(ErrorKind::Io, "reading a.nii")
            .with_source(io)
            .context("convert");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(e.chain(), "convert: reading a.nii: gone");
    }
}
