//! QR codes for printing: the `qrcode` crate's encoder (segments, error correction, placement)
//! with a faster choice of mask.
//!
//! ISO/IEC 18004 asks an encoder to try all eight mask patterns and keep the one with the
//! lowest penalty (§7.8.3). `qrcode` scores each candidate one module at a time through
//! closures and allocations, which was most of a PDF export's time (about 10 ms for a record's
//! QR). [`penalty`] computes the same four rules over a plain bit grid in one pass per rule.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, bits, ec};

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// A QR code's modules, row by row (`true` is dark), `width` by `width`.
pub(crate) struct Modules {
    pub width: usize,
    pub dark: Vec<bool>,
}

/// The QR code of `data` at `level` (the smallest version that holds it, segments chosen by
/// `qrcode`'s optimizer, so an `shc:/` text is a byte segment and a numeric one), with the mask of
/// lowest ISO 18004 penalty; `None` when the data does not fit a QR code.
pub(crate) fn encode(data: &[u8], level: EcLevel) -> Option<Modules> {
    let bits = bits::encode_auto(data, level).ok()?;
    let version = bits.version();
    let (codewords, ecc) = ec::construct_codewords(&bits.into_bytes(), version, level).ok()?;
    let mut canvas = Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&codewords, &ecc);
    let width = usize::try_from(version.width()).ok()?;
    let dark = |c: Canvas| -> Vec<bool> {
        c.into_colors()
            .into_iter()
            .map(|m| m == Color::Dark)
            .collect()
    };
    let best = MASKS
        .iter()
        .map(|&mask| {
            let mut c = canvas.clone();
            c.apply_mask(mask);
            dark(c)
        })
        .min_by_key(|grid| penalty(grid, width))?;
    Some(Modules { width, dark: best })
}

/// The ISO/IEC 18004 §7.8.3.1 penalty of a `width`-wide grid of modules: N1 (runs of five or
/// more), N2 (2×2 blocks), N3 (finder-like 1:1:3:1:1 runs beside four light modules; outside
/// the symbol counts as light, as the quiet zone is) and N4 (dark proportion away from half).
pub(crate) fn penalty(dark: &[bool], width: usize) -> u32 {
    if width < 2 || dark.len() != width * width {
        return u32::MAX;
    }
    let n = width;
    // Columns as rows, so that every rule reads contiguous lines.
    let transposed: Vec<bool> = (0..n * n).map(|i| dark[(i % n) * n + i / n]).collect();
    let lines = dark.chunks_exact(n).chain(transposed.chunks_exact(n));
    let mut score = 0;
    for line in lines {
        score += runs(line) + finders(line);
    }
    score + blocks(dark, n) + balance(dark, n)
}

/// N1 of one row or column: 3 + (length − 5) for each run of five or more modules of one colour.
fn runs(line: &[bool]) -> u32 {
    let mut score = 0;
    let mut run = 0u32;
    let mut last = None;
    for &d in line {
        if Some(d) == last {
            run += 1;
            continue;
        }
        if run >= 5 {
            score += 3 + (run - 5);
        }
        last = Some(d);
        run = 1;
    }
    if run >= 5 {
        score += 3 + (run - 5);
    }
    score
}

/// N2: 3 for each 2×2 block of one colour (blocks may overlap).
fn blocks(dark: &[bool], n: usize) -> u32 {
    let mut score = 0;
    for pair in dark.chunks_exact(n).collect::<Vec<_>>().windows(2) {
        let (a, b) = (pair[0], pair[1]);
        for col in 0..n - 1 {
            let c = a[col];
            if a[col + 1] == c && b[col] == c && b[col + 1] == c {
                score += 3;
            }
        }
    }
    score
}

/// N3 of one row or column: 40 for each 1:1:3:1:1 run (dark light dark dark dark light dark)
/// with four light modules before or after it; modules beyond the symbol are light (the quiet
/// zone). A 15-module window slides over the line padded with four light modules each side:
/// four before, the seven of the run, four after.
fn finders(line: &[bool]) -> u32 {
    const CORE: u32 = 0b101_1101;
    let mut score = 0;
    let mut window = 0u32;
    let padded = std::iter::repeat_n(false, 4)
        .chain(line.iter().copied())
        .chain(std::iter::repeat_n(false, 4));
    for (i, d) in padded.enumerate() {
        window = ((window << 1) | u32::from(d)) & 0x7fff;
        if i < 14 || (window >> 4) & 0x7f != CORE {
            continue;
        }
        let light_before = (window >> 11) & 0xf == 0;
        let light_after = window & 0xf == 0;
        if light_before || light_after {
            score += 40;
        }
    }
    score
}

/// N4: 10 for each whole 5 % step the dark proportion is away from 50 %.
fn balance(dark: &[bool], n: usize) -> u32 {
    let total = n * n;
    let dark_count = dark.iter().filter(|&&d| d).count();
    let deviation = (dark_count * 100).abs_diff(total * 50) / total;
    10 * u32::try_from(deviation / 5).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mask our penalty may pick gives a QR that a real decoder reads back, and the
    /// symbol has the version and size `qrcode`'s own encoder gives.
    #[test]
    fn encodes_what_a_decoder_reads_back() {
        let texts = [
            "shc:/5676290952432060346029243740446031222959532654603460292540772804336028702864716745222809286133314564376531415906402203064504590856435503414245413640370636654171372412363803043756220467374075323239254334433260573601064529315312707424283950386922127667517003",
            "https://verify.example/check",
        ];
        for text in texts {
            let ours = encode(text.as_bytes(), EcLevel::L).expect("fits");
            let theirs =
                qrcode::QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).unwrap();
            assert_eq!(ours.width, theirs.width());
            let scale = 4;
            let side = (ours.width + 8) * scale;
            let img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
                let (col, row) = ((x / scale).wrapping_sub(4), (y / scale).wrapping_sub(4));
                let dark =
                    row < ours.width && col < ours.width && ours.dark[row * ours.width + col];
                if dark { 0 } else { 255 }
            });
            let mut img = img;
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1);
            let (_, content) = grids[0].decode().expect("decodes");
            assert_eq!(content, text);
        }
    }

    #[test]
    fn penalty_counts_each_rule() {
        let n = 21;
        // All light: a run of 21 in each row and column (3 + 16 each), 20 × 20 blocks, 50 % off.
        let light = vec![false; n * n];
        assert_eq!(penalty(&light, n), 2 * 21 * 19 + 400 * 3 + 100);
        assert_eq!(runs(&light[..n]), 19);
        assert_eq!(blocks(&light, n), 400 * 3);
        assert_eq!(balance(&light, n), 100);
        assert_eq!(finders(&light[..n]), 0);
        // Runs of 5, then 4, then 6 on one line (then one more module).
        let line: Vec<bool> = [[true; 5].as_slice(), &[false; 4], &[true; 6], &[false]].concat();
        assert_eq!(runs(&line), 3 + 4);
        // A checkerboard: no runs, no blocks, about half dark.
        let board: Vec<bool> = (0..n * n).map(|i| (i / n + i % n) % 2 == 0).collect();
        assert_eq!(penalty(&board, n), 0);
        // One finder-like run on a light row: found once (light on both sides, counted once),
        // and in no column (each column has at most one dark module).
        let mut grid = vec![false; n * n];
        for (k, d) in [true, false, true, true, true, false, true]
            .iter()
            .enumerate()
        {
            grid[10 * n + 7 + k] = *d;
        }
        // Columns count as rows do: the transposed grid scores the same.
        let transposed: Vec<bool> = (0..n * n).map(|i| grid[(i % n) * n + i / n]).collect();
        assert_eq!(penalty(&transposed, n), penalty(&grid, n));
        assert_eq!(finders(&grid[10 * n..11 * n]), 40);
        // At the symbol's edge, the light quiet zone counts as the four light modules.
        let mut edge = vec![true; n * n];
        for (k, d) in [true, false, true, true, true, false, true]
            .iter()
            .enumerate()
        {
            edge[3 * n + k] = *d;
        }
        assert_eq!(finders(&edge[3 * n..4 * n]), 40);
        // A run whose both sides are dark is not finder-like.
        let mut boxed = vec![true; 15];
        boxed[4..11].copy_from_slice(&[true, false, true, true, true, false, true]);
        assert_eq!(finders(&boxed), 0);
        // Not 1:1:3:1:1: nothing.
        grid[10 * n + 8] = true;
        assert_eq!(finders(&grid[10 * n..11 * n]), 0);
    }
}
