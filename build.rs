//! Build script: generates the C header `medseg.h` from `src/ffi/` with the pinned cbindgen.
//!
//! The header is always written to `$OUT_DIR/medseg.h`; `tests/ffi.rs` fails when the committed
//! `include/medseg.h` differs from it. `MEDSEG_UPDATE_HEADER=1 cargo build --lib` also writes
//! `include/medseg.h`. A generation failure does not break the Rust build (other engineers keep
//! working); it writes a header containing `#error` and a cargo warning, so the drift test and
//! every C compile fail with the reason.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MEDSEG_UPDATE_HEADER");

    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let Ok(out_dir) = std::env::var("OUT_DIR") else {
        println!("cargo:warning=OUT_DIR is not set; medseg.h not generated");
        return;
    };
    let header = generate(&manifest).unwrap_or_else(|e| {
        println!("cargo:warning=medseg.h not generated: {e}");
        format!(
            "#error \"medseg.h generation failed: {}\"\n",
            e.replace(['"', '\n'], "'")
        )
    });
    write_if_changed(&Path::new(&out_dir).join("medseg.h"), &header);
    if std::env::var("MEDSEG_UPDATE_HEADER").is_ok_and(|v| v == "1") {
        write_if_changed(&manifest.join("include").join("medseg.h"), &header);
    }
}

fn generate(manifest: &Path) -> Result<String, String> {
    let mut config = cbindgen::Config::from_file(manifest.join("cbindgen.toml"))?;
    let env = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let (major, minor, patch) = (
        env("CARGO_PKG_VERSION_MAJOR")?,
        env("CARGO_PKG_VERSION_MINOR")?,
        env("CARGO_PKG_VERSION_PATCH")?,
    );
    config.after_includes = Some(format!(
        "\n/** medseg version of this header (Cargo.toml); medseg_version() gives the library's. */\n\
         #define MEDSEG_VERSION_MAJOR {major}\n\
         #define MEDSEG_VERSION_MINOR {minor}\n\
         #define MEDSEG_VERSION_PATCH {patch}\n\
         #define MEDSEG_VERSION_STRING \"{major}.{minor}.{patch}\""
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(manifest.join("src").join("ffi").join("mod.rs"))
        .generate()
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    bindings.write(&mut buf);
    String::from_utf8(buf).map_err(|e| e.to_string())
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    if let Err(e) = std::fs::write(path, text) {
        println!("cargo:warning=cannot write {}: {e}", path.display());
    }
}
