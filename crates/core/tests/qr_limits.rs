//! The QR image decoder is bounded before and while it works: pixel count and bit depth from
//! the header, a time budget and cancellation during detection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::time::Duration;

use spondon_core::qr::{self, Cancel};

fn png(img: image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A small image tiled with QR finder patterns (7×7 modules: dark ring, light ring, 3×3 core).
pub fn finder_tiles(side: u32, module: u32) -> Vec<u8> {
    let cell = 8 * module;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x % cell) / module, (y % cell) / module);
        let dark = mx < 7
            && my < 7
            && (mx == 0
                || mx == 6
                || my == 0
                || my == 6
                || ((2..=4).contains(&mx) && (2..=4).contains(&my)));
        image::Luma([if dark { 0 } else { 255 }])
    });
    png(image::DynamicImage::ImageLuma8(img))
}

#[test]
fn finder_pattern_tiles_stop_at_the_time_budget() {
    let bytes = finder_tiles(1200, 3);
    assert!(bytes.len() < 64 * 1024, "a small file: {}", bytes.len());
    // The budget's own error: the decoder checked its clock and gave up.
    let err =
        qr::decode_image_within(&bytes, Duration::from_millis(500), &Cancel::new()).unwrap_err();
    assert_eq!(err.code(), "qr_decode_timeout", "{err}");
}

#[test]
fn cancellation_stops_a_running_decode() {
    let bytes = finder_tiles(1200, 3);
    let cancel = Cancel::new();
    let c = cancel.clone();
    // A 600 s budget: only the cancellation can end this decode with an error.
    let worker =
        std::thread::spawn(move || qr::decode_image_within(&bytes, Duration::from_secs(600), &c));
    std::thread::sleep(Duration::from_millis(200));
    cancel.cancel();
    let r = worker.join().unwrap();
    assert_eq!(r.unwrap_err().code(), "qr_decode_cancelled");
}

#[test]
fn pixel_count_and_bit_depth_are_refused_before_decoding() {
    // 16 bits per channel: refused from the header.
    let deep = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::new(64, 64);
    let err = qr::decode_image(&png(image::DynamicImage::ImageLuma16(deep))).unwrap_err();
    assert_eq!(err.code(), "image_bit_depth", "{err}");
    // More pixels than a phone photo (each side within the 8000 px limit).
    let wide = image::GrayImage::new(6000, 3000);
    let bytes = png(image::DynamicImage::ImageLuma8(wide));
    let err = qr::decode_image(&bytes).unwrap_err();
    assert_eq!(err.code(), "image_too_large", "{err}");
}

#[test]
fn a_real_grant_qr_still_reads() {
    let text = "SPONDON:1:HELLO-QR-LIMITS";
    let png = qr::encode(text).unwrap().to_png(6).unwrap();
    assert_eq!(qr::decode_image(&png).unwrap(), vec![text.to_owned()]);
}
