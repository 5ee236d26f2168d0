//! QR decoding for the verifier's web page, for browsers without `BarcodeDetector`: `rqrr`
//! compiled to WebAssembly (`scripts/build-qr-wasm.sh`). The page hands over the RGBA pixels
//! of a video frame or photo (as from a canvas) and gets the decoded texts back.

use wasm_bindgen::prelude::wasm_bindgen;

/// Largest image accepted (pixels), to bound work per frame.
pub const MAX_PIXELS: usize = 4096 * 4096;

/// Decodes every QR code in an RGBA image of `width` × `height`. Returns the texts joined by
/// `"\n"` (QR texts of SMART Health Cards and Spondon tokens hold no newline), or an empty
/// string when none could be read.
#[wasm_bindgen]
pub fn decode_rgba(width: u32, height: u32, rgba: &[u8]) -> String {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || w.saturating_mul(h) > MAX_PIXELS || rgba.len() != w * h * 4 {
        return String::new();
    }
    let luma: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|p| ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8)
        .collect();
    decode_luma(w, h, &luma).join("\n")
}

/// Decodes every QR code in a greyscale image.
pub fn decode_luma(w: usize, h: usize, luma: &[u8]) -> Vec<String> {
    if luma.len() != w * h {
        return Vec::new();
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_sizes_and_finds_nothing_in_noise() {
        assert_eq!(decode_rgba(0, 0, &[]), "");
        assert_eq!(decode_rgba(2, 2, &[0; 3]), "");
        let noise: Vec<u8> = (0..64u32 * 64 * 4)
            .map(|i| (i * 7919 % 251) as u8)
            .collect();
        assert_eq!(decode_rgba(64, 64, &noise), "");
    }

    #[test]
    fn decodes_a_rendered_token() {
        let text = "SPONDON:1:6BFOXN*TS0BI$ZDFRH%8V7%M.QN3*PVE0";
        let png = spondon_core::qr::encode(text).unwrap().to_png(6).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgba8();
        let (w, h) = img.dimensions();
        assert_eq!(decode_rgba(w, h, img.as_raw()), text);
    }
}
