//! PNG/JPEG preview pictures.
