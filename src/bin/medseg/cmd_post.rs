//! Post-processing sub-commands: `components`, `largest`, `remove-small`, `fill-holes`,
//! `relabel`, `dilate`, `erode`, `metrics`.
//!
//! With the environment variable `MEDSEG_BENCH` set, each command prints one line
//! `BENCH tool=medseg op=<name> load_ms=… op_ms=… save_ms=…` on stderr (the peer harness's
//! protocol).

use crate::common::{flag, opt_parse, path};
use clap::{Arg, ArgAction, ArgMatches, Command};
use medseg::image::DynImage;
use medseg::io::{self, ReadOptions, WriteOptions};
use medseg::postprocess::{
    self, Connectivity, MinSize, Structuring,
    metrics::{self, MetricsOptions},
};
use medseg::{Error, Result, dispatch};
use std::path::Path;
use std::time::Instant;

fn io_args(c: Command) -> Command {
    c.arg(Arg::new("input").required(true).help("label image"))
        .arg(
            Arg::new("output")
                .required(true)
                .help("output image (format from the extension)"),
        )
}

fn conn_arg() -> Arg {
    Arg::new("connectivity")
        .long("connectivity")
        .value_name("N")
        .help("6, 18 or 26 (4 or 8 for 2-D images); default 26")
}

fn json_arg() -> Arg {
    Arg::new("json")
        .long("json")
        .action(ArgAction::SetTrue)
        .help("print statistics as one JSON object")
}

fn morph(name: &'static str, about: &'static str) -> Command {
    io_args(Command::new(name).about(about))
        .arg(
            Arg::new("radius")
                .long("radius")
                .required(true)
                .value_name("R")
                .help("radius (voxels, or mm with --mm)"),
        )
        .arg(
            Arg::new("mm")
                .long("mm")
                .action(ArgAction::SetTrue)
                .help("radius in millimetres"),
        )
        .arg(
            Arg::new("cross")
                .long("cross")
                .action(ArgAction::SetTrue)
                .help("axis-aligned cross instead of a ball"),
        )
}

pub fn commands() -> Vec<Command> {
    vec![
        io_args(Command::new("components").about(
            "Connected components (multi-label: classes never merge) → instance labels in scan order (u8/u16/u32, the smallest that holds the count)",
        ))
        .arg(conn_arg())
        .arg(
            Arg::new("binary")
                .long("binary")
                .action(ArgAction::SetTrue)
                .help("treat every non-zero voxel as one class"),
        )
        .arg(
            Arg::new("u32")
                .long("u32")
                .action(ArgAction::SetTrue)
                .help("always write u32 labels (default: the smallest of u8/u16/u32 that holds the count, like cc3d)"),
        )
        .arg(json_arg().help("print per-component statistics (count, volume, bbox, centroid) as JSON")),
        io_args(Command::new("largest").about("Keep the largest connected component (values kept)"))
            .arg(conn_arg())
            .arg(
                Arg::new("per-label")
                    .long("per-label")
                    .action(ArgAction::SetTrue)
                    .help("keep the largest component of every label"),
            ),
        io_args(Command::new("remove-small").about(
            "Remove connected components (per label) smaller than a voxel count or a volume",
        ))
        .arg(conn_arg())
        .arg(Arg::new("min-voxels").long("min-voxels").value_name("N"))
        .arg(Arg::new("min-mm3").long("min-mm3").value_name("V")),
        io_args(Command::new("fill-holes").about(
            "Fill enclosed background (6-connected background; binary 0/1 output unless --per-label)",
        ))
        .arg(
            Arg::new("per-label")
                .long("per-label")
                .action(ArgAction::SetTrue)
                .help("fill each label's holes with that label, keeping values"),
        ),
        io_args(Command::new("relabel").about("Merge, remove or renumber labels through a JSON map"))
            .arg(
                Arg::new("map")
                    .long("map")
                    .required(true)
                    .value_name("map.json")
                    .help(r#"{"map": {"old": new, …}, "unmapped": "keep"|"remove", "renumber": bool}"#),
            ),
        morph("dilate", "Dilate every label into the background (ball or cross)"),
        morph("erode", "Erode every label (ball or cross)"),
        Command::new("metrics")
            .about("Dice, IoU, HD95 (surface-distance robust Hausdorff), NSD per label")
            .arg(Arg::new("gt").long("gt").required(true).help("ground truth (image or challenge .npz with `gts`)"))
            .arg(Arg::new("pred").long("pred").required(true).help("prediction (image or challenge .npz with `segs`)"))
            .arg(
                Arg::new("challenge")
                    .long("challenge")
                    .action(ArgAction::SetTrue)
                    .help("MedSAM challenge rules: labels 1..max(gt), NSD gated by DSC > 0.2, spacing per array axis"),
            )
            .arg(Arg::new("tolerance").long("tolerance").value_name("MM").help("NSD tolerance in mm (default 2)"))
            .arg(Arg::new("percentile").long("percentile").value_name("P").help("Hausdorff percentile (default 95)"))
            .arg(json_arg()),
    ]
}

pub fn run(name: &str, m: &ArgMatches) -> Option<Result<()>> {
    let r = match name {
        "components" => components(m),
        "largest" => largest(m),
        "remove-small" => remove_small(m),
        "fill-holes" => fill(m),
        "relabel" => relabel(m),
        "dilate" | "erode" => morphology(name, m),
        "metrics" => metrics_cmd(m),
        _ => return None,
    };
    Some(r)
}

struct Timer {
    op: &'static str,
    t: Instant,
    load: f64,
    opt: f64,
}

impl Timer {
    fn new(op: &'static str) -> Self {
        Timer {
            op,
            t: Instant::now(),
            load: 0.0,
            opt: 0.0,
        }
    }
    fn lap(&mut self) -> f64 {
        let d = self.t.elapsed().as_secs_f64() * 1e3;
        self.t = Instant::now();
        d
    }
    fn loaded(&mut self) {
        self.load = self.lap();
    }
    fn done_op(&mut self) {
        self.opt = self.lap();
    }
    fn finish(mut self) {
        let save = self.lap();
        if std::env::var_os("MEDSEG_BENCH").is_some() {
            eprintln!(
                "BENCH tool=medseg op={} load_ms={:.1} op_ms={:.1} save_ms={:.1}",
                self.op, self.load, self.opt, save
            );
        }
    }
}

fn read(p: &Path) -> Result<DynImage> {
    io::read(p, &ReadOptions::default())
}

fn write(p: &Path, img: &DynImage) -> Result<()> {
    io::write(p, img, &WriteOptions::default())
}

fn connectivity(m: &ArgMatches) -> Result<Connectivity> {
    Connectivity::from_number(opt_parse::<u32>(m, "connectivity")?.unwrap_or(26))
}

fn components(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("cc");
    let img = read(&path(m, "input")?)?;
    t.loaded();
    let opts = postprocess::components::CcOptions {
        connectivity: connectivity(m)?,
        binary: flag(m, "binary"),
    };
    let want_stats = flag(m, "json");
    let force_u32 = flag(m, "u32");
    let (labels, stats) = dispatch!(&img, i => {
        let cc = postprocess::Components::label(i, opts)?;
        let stats = if want_stats { Some(cc.stats(i)?) } else { None };
        let labels: DynImage = if force_u32 {
            cc.to_image(i.geometry())?.into()
        } else {
            cc.to_image_compact(i.geometry())?
        };
        (labels, stats)
    });
    t.done_op();
    write(&path(m, "output")?, &labels)?;
    if let Some(s) = stats {
        let j = serde_json::json!({
            "count": s.len(),
            "connectivity": opts.connectivity.number(),
            "components": s,
        });
        println!("{j}");
    }
    t.finish();
    Ok(())
}

fn largest(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("largest");
    let img = read(&path(m, "input")?)?;
    t.loaded();
    let conn = connectivity(m)?;
    let per = flag(m, "per-label");
    let out: DynImage = dispatch!(&img, i => postprocess::largest_component(i, conn, per)?.into());
    t.done_op();
    write(&path(m, "output")?, &out)?;
    t.finish();
    Ok(())
}

fn remove_small(m: &ArgMatches) -> Result<()> {
    let min = match (
        opt_parse::<u64>(m, "min-voxels")?,
        opt_parse::<f64>(m, "min-mm3")?,
    ) {
        (Some(n), None) => MinSize::Voxels(n),
        (None, Some(v)) => MinSize::Mm3(v),
        _ => {
            return Err(Error::invalid_argument(
                "give exactly one of --min-voxels N or --min-mm3 V",
            ));
        }
    };
    let mut t = Timer::new("dust");
    let img = read(&path(m, "input")?)?;
    t.loaded();
    let conn = connectivity(m)?;
    let out: DynImage = dispatch!(&img, i => postprocess::remove_small(i, conn, min)?.into());
    t.done_op();
    write(&path(m, "output")?, &out)?;
    t.finish();
    Ok(())
}

fn fill(m: &ArgMatches) -> Result<()> {
    let mut t = Timer::new("fill");
    let img = read(&path(m, "input")?)?;
    t.loaded();
    let out: DynImage = if flag(m, "per-label") {
        dispatch!(&img, i => postprocess::fill_holes_per_label(i)?.into())
    } else {
        dispatch!(&img, i => postprocess::fill_holes(i)?.into())
    };
    t.done_op();
    write(&path(m, "output")?, &out)?;
    t.finish();
    Ok(())
}

fn relabel(m: &ArgMatches) -> Result<()> {
    let map_path = path(m, "map")?;
    let text = std::fs::read_to_string(&map_path).map_err(|e| Error::io(&map_path, e))?;
    let map = postprocess::LabelMap::from_json(&text).map_err(|e| e.context(map_path.display()))?;
    let mut t = Timer::new("relabel");
    let img = read(&path(m, "input")?)?;
    t.loaded();
    let out: DynImage = dispatch!(&img, i => postprocess::relabel(i, &map)?.into());
    t.done_op();
    write(&path(m, "output")?, &out)?;
    t.finish();
    Ok(())
}

fn morphology(name: &str, m: &ArgMatches) -> Result<()> {
    let radius = opt_parse::<f64>(m, "radius")?
        .ok_or_else(|| Error::invalid_argument("--radius is required"))?;
    let mm = flag(m, "mm");
    let se = if flag(m, "cross") {
        Structuring::Cross { radius, mm }
    } else {
        Structuring::Ball { radius, mm }
    };
    let mut t = Timer::new(if name == "dilate" { "dilate" } else { "erode" });
    let img = read(&path(m, "input")?)?;
    t.loaded();
    let out: DynImage = if name == "dilate" {
        dispatch!(&img, i => postprocess::dilate(i, se)?.into())
    } else {
        dispatch!(&img, i => postprocess::erode(i, se)?.into())
    };
    t.done_op();
    write(&path(m, "output")?, &out)?;
    t.finish();
    Ok(())
}

/// `d` as an image of the same pixel type as `_like`.
fn like<'a, T: medseg::Pixel>(
    _like: &medseg::Image<T>,
    d: &'a DynImage,
) -> Result<&'a medseg::Image<T>> {
    d.as_type::<T>()
}

fn is_npz(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// A challenge npz array: (numpy shape, values as an image in C order, raw `spacing` values).
fn npz_array(p: &Path, key: &str) -> Result<(Vec<usize>, DynImage, Option<Vec<f64>>)> {
    use medseg::io::npy::{ArrayLayout, Npz};
    let npz = Npz::open(p, &Default::default())?;
    let names = npz.names();
    let key = if names.contains(&key) {
        key.to_string()
    } else if let [only] = names.as_slice() {
        only.to_string()
    } else {
        return Err(Error::format(format!(
            "{}: no array '{key}' (members: {})",
            p.display(),
            names.join(", ")
        )));
    };
    let a = npz.array(&key)?;
    let spacing = if names.contains(&"spacing") {
        Some(npz.array("spacing")?.to_f64_vec())
    } else {
        None
    };
    let shape = a.shape().to_vec();
    let img = a
        .to_image(ArrayLayout::Volume)
        .map_err(|e| e.context(format!("{} '{key}'", p.display())))?;
    Ok((shape, img, spacing))
}

fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else {
        format!("{x:.6}")
    }
}

fn metrics_cmd(m: &ArgMatches) -> Result<()> {
    let gt_p = path(m, "gt")?;
    let pred_p = path(m, "pred")?;
    let tol = opt_parse::<f64>(m, "tolerance")?.unwrap_or(2.0);
    let pct = opt_parse::<f64>(m, "percentile")?.unwrap_or(95.0);
    let json = flag(m, "json");
    let mut t = Timer::new("metrics");
    if flag(m, "challenge") {
        let (gshape, gimg, gsp) = if is_npz(&gt_p) {
            npz_array(&gt_p, "gts")?
        } else {
            let g = read(&gt_p)?;
            let [ni, nj, nk] = g.geometry().size;
            let s = g.geometry().spacing;
            let shape = if nk == 1 {
                vec![nj, ni]
            } else {
                vec![nk, nj, ni]
            };
            (shape, g, Some(vec![s[2], s[1], s[0]]))
        };
        let (pshape, pimg, _) = if is_npz(&pred_p) {
            npz_array(&pred_p, "segs")?
        } else {
            let g = read(&pred_p)?;
            let [ni, nj, nk] = g.geometry().size;
            let shape = if nk == 1 {
                vec![nj, ni]
            } else {
                vec![nk, nj, ni]
            };
            (shape, g, None)
        };
        t.loaded();
        if gshape != pshape {
            return Err(Error::mismatch(format!(
                "gts shape {gshape:?} differs from segs shape {pshape:?}"
            )));
        }
        let spacing = match (gshape.len(), gsp) {
            (3, Some(v)) => match v.as_slice() {
                [a, b, c] => Some([*a, *b, *c]),
                _ => {
                    return Err(Error::format(format!(
                        "{}: 'spacing' holds {} values, 3 expected",
                        gt_p.display(),
                        v.len()
                    )));
                }
            },
            (3, None) => {
                return Err(Error::format(format!(
                    "{}: 3-D case without 'spacing'",
                    gt_p.display()
                )));
            }
            _ => None,
        };
        let r = if gimg.pixel_type() == pimg.pixel_type() {
            dispatch!(&gimg, g => {
                let p = like(g, &pimg)?;
                metrics::challenge_metrics(g.data(), p.data(), &gshape, spacing, tol)?
            })
        } else {
            let (g, p) = (gimg.cast::<f64>(), pimg.cast::<f64>());
            metrics::challenge_metrics(g.data(), p.data(), &gshape, spacing, tol)?
        };
        t.done_op();
        if json {
            println!(
                "{}",
                serde_json::to_string(&r).map_err(|e| Error::internal(e.to_string()))?
            );
        } else {
            println!("label  dsc       nsd       hd95");
            for l in &r.per_label {
                println!(
                    "{:<6} {:<9} {:<9} {}",
                    l.label,
                    num(l.dsc),
                    num(l.nsd),
                    num(l.hd95)
                );
            }
            println!(
                "case   dsc {}  nsd {}{}",
                num(r.dsc),
                num(r.nsd),
                if r.nsd_gated_to_zero {
                    " (gated: dsc <= 0.2)"
                } else {
                    ""
                }
            );
        }
        t.finish();
        return Ok(());
    }
    let gimg = read(&gt_p)?;
    let pimg = read(&pred_p)?;
    t.loaded();
    let opts = MetricsOptions {
        tolerance_mm: tol,
        hd_percentile: pct,
        labels: None,
    };
    let r = if gimg.pixel_type() == pimg.pixel_type() {
        dispatch!(&gimg, g => metrics::evaluate(g, like(g, &pimg)?, &opts)?)
    } else {
        metrics::evaluate(&gimg.cast::<f64>(), &pimg.cast::<f64>(), &opts)?
    };
    t.done_op();
    if json {
        println!(
            "{}",
            serde_json::to_string(&r).map_err(|e| Error::internal(e.to_string()))?
        );
    } else {
        println!("label  dsc       iou       hd95      nsd@{tol}");
        for l in &r.per_label {
            println!(
                "{:<6} {:<9} {:<9} {:<9} {}",
                l.label,
                num(l.dsc),
                num(l.iou),
                num(l.hd95),
                num(l.nsd)
            );
        }
        println!(
            "mean   {:<9} {:<9} {:<9} {}",
            num(r.dsc),
            "",
            num(r.hd95),
            num(r.nsd)
        );
    }
    t.finish();
    Ok(())
}
