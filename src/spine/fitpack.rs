//! Smoothing splines as scipy's `splrep(x, y, s=s, k=k)` / `splev` compute them (Dierckx's
//! FITPACK `curfit` with `iopt = 0`, unit weights, `xb = x[0]`, `xe = x[-1]`, `tol = 1e-3`,
//! `maxit = 20`, `nest = max(m + k + 1, 2k + 3)`), written from the published algorithm
//! (P. Dierckx, *Curve and Surface Fitting with Splines*, 1993) so that the same arithmetic is
//! done in the same order: TotalSpineSeg's level points depend on the fitted canal centre line.
//!
//! Arrays are 1-based internally (index 0 unused) to keep the correspondence with the algorithm's
//! description obvious.
// A line-by-line port of FITPACK's Fortran (1-based indices kept on purpose).
#![allow(clippy::explicit_counter_loop, clippy::manual_memcpy)]

use crate::error::{Error, Result};

/// A B-spline: knots, coefficients, degree.
#[derive(Debug, Clone, PartialEq)]
pub struct Spline {
    pub t: Vec<f64>,
    pub c: Vec<f64>,
    pub k: usize,
}

const W: usize = 8; // row width for band matrices (k2 ≤ 7 for k ≤ 5)

/// The k+1 non-zero B-splines of degree k at x, with t(l) <= x < t(l+1) (1-based l).
fn bspl(t: &[f64], k: usize, x: f64, l: usize, h: &mut [f64; 20]) {
    let mut hh = [0f64; 19];
    h[1] = 1.0;
    for j in 1..=k {
        hh[1..=j].copy_from_slice(&h[1..=j]);
        h[1] = 0.0;
        for i in 1..=j {
            let li = l + i;
            let lj = li - j;
            if t[li] == t[lj] {
                h[i + 1] = 0.0;
                continue;
            }
            let f = hh[i] / (t[li] - t[lj]);
            h[i] += f * (t[li] - x);
            h[i + 1] = f * (x - t[lj]);
        }
    }
}

fn givens(piv: f64, ww: &mut f64) -> (f64, f64) {
    let store = piv.abs();
    let dd = if store >= *ww {
        store * (1.0 + (*ww / piv) * (*ww / piv)).sqrt()
    } else {
        *ww * (1.0 + (piv / *ww) * (piv / *ww)).sqrt()
    };
    let cos = *ww / dd;
    let sin = piv / dd;
    *ww = dd;
    (cos, sin)
}

#[inline]
fn rota(cos: f64, sin: f64, a: &mut f64, b: &mut f64) {
    let s1 = *a;
    let s2 = *b;
    *b = cos * s2 + sin * s1;
    *a = cos * s1 - sin * s2;
}

/// Back substitution for an upper triangular band matrix of bandwidth `k` (rows 1..=n).
fn back(a: &[[f64; W]], z: &[f64], n: usize, k: usize, c: &mut [f64]) {
    let k1 = k - 1;
    c[n] = z[n] / a[n][1];
    if n == 1 {
        return;
    }
    let mut i = n - 1;
    for j in 2..=n {
        let mut store = z[i];
        let i1 = if j <= k1 { j - 1 } else { k1 };
        let mut m = i;
        for l in 1..=i1 {
            m += 1;
            store -= c[m] * a[i][l + 1];
        }
        c[i] = store / a[i][1];
        if i == 1 {
            break;
        }
        i -= 1;
    }
}

fn disc(t: &[f64], n: usize, k2: usize, b: &mut [[f64; W]]) {
    let k1 = k2 - 1;
    let k = k1 - 1;
    let nk1 = n - k1;
    let nrint = nk1 - k;
    let an = nrint as f64;
    let fac = an / (t[nk1 + 1] - t[k1]);
    let mut h = [0f64; 12];
    for l in k2..=nk1 {
        let lmk = l - k1;
        for j in 1..=k1 {
            let ik = j + k1;
            let lj = l + j;
            let lk = lj - k2;
            h[j] = t[l] - t[lk];
            h[ik] = t[l] - t[lj];
        }
        let mut lp = lmk;
        for j in 1..=k2 {
            let mut jk = j;
            let mut prod = h[j];
            for _ in 1..=k {
                jk += 1;
                prod = prod * h[jk] * fac;
            }
            let lk = lp + k1;
            b[lmk][j] = (t[lk] - t[lp]) / prod;
            lp += 1;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn knot(
    x: &[f64],
    t: &mut [f64],
    n: &mut usize,
    fpint: &mut [f64],
    nrdata: &mut [usize],
    nrint: &mut usize,
    istart: usize,
) {
    let k = (*n - *nrint - 1) / 2;
    let mut fpmax = 0.0;
    let mut jbegin = istart;
    let (mut number, mut maxpt, mut maxbeg) = (0usize, 0usize, 0usize);
    for j in 1..=*nrint {
        let jpoint = nrdata[j];
        if !(fpmax >= fpint[j] || jpoint == 0) {
            fpmax = fpint[j];
            number = j;
            maxpt = jpoint;
            maxbeg = jbegin;
        }
        jbegin += jpoint + 1;
    }
    let ihalf = maxpt / 2 + 1;
    let nrx = maxbeg + ihalf;
    let next = number + 1;
    if next <= *nrint {
        for j in next..=*nrint {
            let jj = next + *nrint - j;
            fpint[jj + 1] = fpint[jj];
            nrdata[jj + 1] = nrdata[jj];
            let jk = jj + k;
            t[jk + 1] = t[jk];
        }
    }
    nrdata[number] = ihalf - 1;
    nrdata[next] = maxpt - ihalf;
    let am = maxpt as f64;
    let an = nrdata[number] as f64;
    fpint[number] = fpmax * an / am;
    let an = nrdata[next] as f64;
    fpint[next] = fpmax * an / am;
    let jk = next + k;
    t[jk] = x[nrx];
    *n += 1;
    *nrint += 1;
}

fn fprati(p1: &mut f64, f1: &mut f64, p2: f64, f2: f64, p3: &mut f64, f3: &mut f64) -> f64 {
    let p = if *p3 > 0.0 {
        let h1 = *f1 * (f2 - *f3);
        let h2 = f2 * (*f3 - *f1);
        let h3 = *f3 * (*f1 - f2);
        -(*p1 * p2 * h3 + p2 * *p3 * h1 + *p3 * *p1 * h2) / (*p1 * h1 + p2 * h2 + *p3 * h3)
    } else {
        (*p1 * (*f1 - *f3) * f2 - p2 * (f2 - *f3) * *f1) / ((*f1 - f2) * *f3)
    };
    if f2 < 0.0 {
        *p3 = p2;
        *f3 = f2;
    } else {
        *p1 = p2;
        *f1 = f2;
    }
    p
}

/// `scipy.interpolate.splrep(x, y, s=s, k=k)` with unit weights. `x` must be strictly
/// increasing and longer than `k`.
pub fn splrep(xs: &[f64], ys: &[f64], s: f64, k: usize) -> Result<Spline> {
    let m = xs.len();
    if !(1..=5).contains(&k) || m <= k || ys.len() != m {
        return Err(Error::invalid_argument(format!(
            "splrep: need more than k = {k} points (got {m} x, {} y)",
            ys.len()
        )));
    }
    if xs.windows(2).any(|w| !(w[0] < w[1])) || !(s >= 0.0) {
        return Err(Error::invalid_argument(
            "splrep: x must be strictly increasing and s >= 0",
        ));
    }
    let k1 = k + 1;
    let k2 = k + 2;
    let nest = (m + k + 1).max(2 * k + 3);
    let tol = 0.001;
    let maxit = 20;
    let mut x = vec![0f64; m + 1];
    x[1..].copy_from_slice(xs);
    let mut y = vec![0f64; m + 1];
    y[1..].copy_from_slice(ys);
    let xb = x[1];
    let xe = x[m];
    let mut t = vec![0f64; nest + 2];
    let mut c = vec![0f64; nest + 2];
    let mut fpint = vec![0f64; nest + 2];
    let mut z = vec![0f64; nest + 2];
    let mut a = vec![[0f64; W]; nest + 2];
    let mut b = vec![[0f64; W]; nest + 2];
    let mut g = vec![[0f64; W]; nest + 2];
    let mut q = vec![[0f64; W]; m + 2];
    let mut nrdata = vec![0usize; nest + 2];
    let mut h = [0f64; 20];

    let nmin = 2 * k1;
    let acc = tol * s;
    let nmax = m + k1;
    let mut n;
    let mut fp0 = 0.0;
    let mut fpold;
    let mut nplus;
    let mut ier: i32 = 0;
    let mut fp;
    let mut fpms = 0.0;
    let interp_knots = |t: &mut [f64]| {
        // knots for interpolation (s = 0 or n reached nmax)
        let mk1 = m - k1;
        if mk1 == 0 {
            return;
        }
        let k3 = k / 2;
        let mut i = k2;
        let mut j = k3 + 2;
        if k3 * 2 == k {
            for _ in 0..mk1 {
                t[i] = (x[j] + x[j - 1]) * 0.5;
                i += 1;
                j += 1;
            }
        } else {
            for _ in 0..mk1 {
                t[i] = x[j];
                i += 1;
                j += 1;
            }
        }
    };
    if s == 0.0 {
        n = nmax;
        if nmax > nest {
            return Err(Error::internal("splrep: storage exceeded"));
        }
        interp_knots(&mut t);
        fpold = 0.0;
        nplus = 0;
    } else {
        n = nmin;
        fpold = 0.0;
        nplus = 0;
        nrdata[1] = m - 2;
    }
    let mut nk1;
    // Part 1: knots.
    'outer: loop {
        let mut restarted = false;
        for _iter in 1..=m {
            if n == nmin {
                ier = -2;
            }
            let nrint = n - nmin + 1;
            nk1 = n - k1;
            let mut i = n;
            for j in 1..=k1 {
                t[j] = xb;
                t[i] = xe;
                i -= 1;
            }
            fp = 0.0;
            for i in 1..=nk1 {
                z[i] = 0.0;
                for j in 1..=k1 {
                    a[i][j] = 0.0;
                }
            }
            let mut l = k1;
            for it in 1..=m {
                let xi = x[it];
                let wi = 1.0;
                let mut yi = y[it] * wi;
                while !(xi < t[l + 1] || l == nk1) {
                    l += 1;
                }
                bspl(&t, k, xi, l, &mut h);
                for i in 1..=k1 {
                    q[it][i] = h[i];
                    h[i] *= wi;
                }
                let mut j = l - k1;
                for i in 1..=k1 {
                    j += 1;
                    let piv = h[i];
                    if piv == 0.0 {
                        continue;
                    }
                    let (cos, sin) = givens(piv, &mut a[j][1]);
                    rota(cos, sin, &mut yi, &mut z[j]);
                    if i == k1 {
                        break;
                    }
                    let mut i2 = 1;
                    for i1 in i + 1..=k1 {
                        i2 += 1;
                        let (lhs, rhs) = (&mut h[i1], &mut a[j][i2]);
                        rota(cos, sin, lhs, rhs);
                    }
                }
                fp += yi * yi;
            }
            if ier == -2 {
                fp0 = fp;
            }
            fpint[n] = fp0;
            fpint[n - 1] = fpold;
            nrdata[n] = nplus;
            back(&a, &z, nk1, k1, &mut c);
            fpms = fp - s;
            if fpms.abs() < acc {
                return Ok(finish(t, c, n, k));
            }
            if fpms < 0.0 {
                break 'outer;
            }
            if n == nmax {
                // interpolating spline (ier = -1)
                return Ok(finish(t, c, n, k));
            }
            if n == nest {
                return Ok(finish(t, c, n, k));
            }
            if ier == 0 {
                let mut npl1 = nplus * 2;
                let rn = nplus as f64;
                if fpold - fp > acc {
                    npl1 = (rn * fpms / (fpold - fp)) as usize;
                }
                nplus = (nplus * 2).min(npl1.max(nplus / 2).max(1));
            } else {
                nplus = 1;
                ier = 0;
            }
            fpold = fp;
            let mut fpart = 0.0;
            let mut i = 1;
            let mut l = k2;
            let mut new = false;
            for it in 1..=m {
                if !(x[it] < t[l] || l > nk1) {
                    new = true;
                    l += 1;
                }
                let mut term = 0.0;
                let mut l0 = l - k2;
                for j in 1..=k1 {
                    l0 += 1;
                    term += c[l0] * q[it][j];
                }
                term = (term - y[it]) * (term - y[it]);
                fpart += term;
                if new {
                    let store = term * 0.5;
                    fpint[i] = fpart - store;
                    i += 1;
                    fpart = store;
                    new = false;
                }
            }
            fpint[nrint] = fpart;
            let mut nrint_m = nrint;
            for _ in 1..=nplus {
                knot(&x, &mut t, &mut n, &mut fpint, &mut nrdata, &mut nrint_m, 1);
                if n == nmax {
                    interp_knots(&mut t);
                    restarted = true;
                    break;
                }
                if n == nest {
                    break;
                }
            }
            if restarted {
                continue 'outer;
            }
        }
        break;
    }
    if ier == -2 {
        return Ok(finish(t, c, n, k));
    }
    // Part 2: smoothing spline.
    nk1 = n - k1;
    disc(&t, n, k2, &mut b);
    let mut p1 = 0.0;
    let mut f1 = fp0 - s;
    let mut p3 = -1.0;
    let mut f3 = fpms;
    let mut p = 0.0;
    for row in a.iter().skip(1).take(nk1) {
        p += row[1];
    }
    let rn = nk1 as f64;
    p = rn / p;
    let mut ich1 = false;
    let mut ich3 = false;
    let n8 = n - nmin;
    for iter in 1..=maxit {
        let pinv = 1.0 / p;
        for i in 1..=nk1 {
            c[i] = z[i];
            g[i][k2] = 0.0;
            for j in 1..=k1 {
                g[i][j] = a[i][j];
            }
        }
        for it in 1..=n8 {
            for i in 1..=k2 {
                h[i] = b[it][i] * pinv;
            }
            let mut yi = 0.0;
            for j in it..=nk1 {
                let piv = h[1];
                let (cos, sin) = givens(piv, &mut g[j][1]);
                rota(cos, sin, &mut yi, &mut c[j]);
                if j == nk1 {
                    break;
                }
                let i2 = if j > n8 { nk1 - j } else { k1 };
                for i in 1..=i2 {
                    let i1 = i + 1;
                    let (lhs, rhs) = (&mut h[i1], &mut g[j][i1]);
                    rota(cos, sin, lhs, rhs);
                    h[i] = h[i1];
                }
                h[i2 + 1] = 0.0;
            }
        }
        let cc = c.clone();
        back(&g, &cc, nk1, k2, &mut c);
        fp = 0.0;
        let mut l = k2;
        for it in 1..=m {
            if !(x[it] < t[l] || l > nk1) {
                l += 1;
            }
            let mut l0 = l - k2;
            let mut term = 0.0;
            for j in 1..=k1 {
                l0 += 1;
                term += c[l0] * q[it][j];
            }
            fp += (term - y[it]) * (term - y[it]);
        }
        fpms = fp - s;
        if fpms.abs() < acc || iter == maxit {
            break;
        }
        let p2 = p;
        let f2 = fpms;
        if !ich3 {
            if f2 - f3 <= acc {
                p3 = p2;
                f3 = f2;
                p *= 0.04;
                if p <= p1 {
                    p = p1 * 0.9 + p2 * 0.1;
                }
                continue;
            }
            if f2 < 0.0 {
                ich3 = true;
            }
        }
        if !ich1 {
            if f1 - f2 <= acc {
                p1 = p2;
                f1 = f2;
                p /= 0.04;
                if p3 < 0.0 {
                    continue;
                }
                if p >= p3 {
                    p = p2 * 0.1 + p3 * 0.9;
                }
                continue;
            }
            if f2 > 0.0 {
                ich1 = true;
            }
        }
        if f2 >= f1 || f2 <= f3 {
            break; // ier = 2: keep the current spline, as FITPACK does
        }
        p = fprati(&mut p1, &mut f1, p2, f2, &mut p3, &mut f3);
    }
    Ok(finish(t, c, n, k))
}

fn finish(t: Vec<f64>, c: Vec<f64>, n: usize, k: usize) -> Spline {
    Spline {
        t: t[1..=n].to_vec(),
        c: c[1..=n].to_vec(),
        k,
    }
}

/// `scipy.interpolate.splev(x, tck)` (value only) for x inside the knot range.
pub fn splev(sp: &Spline, xs: &[f64]) -> Vec<f64> {
    let n = sp.t.len();
    let k = sp.k;
    let k1 = k + 1;
    let mut t = vec![0f64; n + 1];
    t[1..].copy_from_slice(&sp.t);
    let mut c = vec![0f64; n + 1];
    c[1..].copy_from_slice(&sp.c);
    let nk1 = n - k1;
    let mut h = [0f64; 20];
    let mut l = k1;
    let mut out = Vec::with_capacity(xs.len());
    for &arg in xs {
        let mut l1 = l + 1;
        while !(arg >= t[l] || l1 == k1 + 1) {
            l1 = l;
            l -= 1;
        }
        while !(arg < t[l1] || l == nk1) {
            l = l1;
            l1 = l + 1;
        }
        bspl(&t, k, arg, l, &mut h);
        let mut sp_v = 0.0;
        let mut ll = l - k1;
        for j in 1..=k1 {
            ll += 1;
            sp_v += c[ll] * h[j];
        }
        out.push(sp_v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_s_gives_least_squares_polynomial_and_small_s_follows_data() {
        // A cubic is reproduced exactly by the least-squares cubic (s large).
        let x: Vec<f64> = (0..30).map(|v| v as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 0.01 * v * v * v - v + 2.0).collect();
        let sp = splrep(&x, &y, 1e6, 3).unwrap();
        assert_eq!(sp.t.len(), 8);
        let e = splev(&sp, &x);
        for (a, b) in e.iter().zip(&y) {
            assert!((a - b).abs() < 1e-9);
        }
        // Noisy data with small s: residual sum of squares close to s.
        let yn: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v.sin() + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        let sp = splrep(&x, &yn, 0.5, 3).unwrap();
        let e = splev(&sp, &x);
        let fp: f64 = e.iter().zip(&yn).map(|(a, b)| (a - b) * (a - b)).sum();
        assert!((fp - 0.5).abs() < 0.5 * 0.001 + 1e-9, "fp = {fp}");
    }
}
