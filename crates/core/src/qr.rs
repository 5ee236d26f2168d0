//! QR codes: render text to SVG or PNG (ECC level M), and read QR codes back out of photos.
//!
//! Text made only of QR-alphanumeric characters (every Spondon token: `SPONDON:1:` + base45) is
//! encoded as one alphanumeric segment, 5.5 bits per character; any other text falls back to
//! the qrcode crate's optimal segmentation.

use std::cell::Cell;
use std::io::Cursor;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use image::ImageDecoder as _;

use qrcode::bits::Bits;
use qrcode::{EcLevel, QrCode, Version};

use crate::token::base45::is_qr_alphanumeric;

/// Largest image file accepted by [`decode_image`].
pub const MAX_IMAGE_BYTES: usize = 20 << 20;
/// Largest image dimension accepted by [`decode_image`].
pub const MAX_IMAGE_DIMENSION: u32 = 8_000;
/// Most pixels accepted by [`decode_image`] (a 12-megapixel phone photo fits), checked from
/// the header before anything is decoded.
pub const MAX_IMAGE_PIXELS: u64 = 16_000_000;
/// Most bits per channel accepted (16-bit images are refused before decoding).
pub const MAX_BITS_PER_CHANNEL: u16 = 8;
/// Most memory the image decoder may allocate.
pub const MAX_DECODE_ALLOC: u64 = 256 << 20;
/// Time budget of [`decode_image`]: QR detection stops (and reports `qr_decode_timeout`) after it.
pub const DEFAULT_DECODE_BUDGET: Duration = Duration::from_secs(5);

/// Stops a running [`decode_image_within`] from another thread (e.g. when the request that
/// asked for it ends). Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not yet set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the decoder to stop; it returns `qr_decode_cancelled` soon after.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether [`Cancel::cancel`] was called on this flag or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Sets a [`Cancel`] when dropped: hold it in the future that waits for the decoder, so that
/// the decoder stops when that future is dropped (the client went away, a timeout fired).
#[derive(Debug)]
pub struct CancelOnDrop(pub Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// What can go wrong rendering or reading a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in a QR code at error correction level M.
    #[error("the text is too long for any QR code at error correction level M")]
    TooLong,
    /// The QR encoder refused the text.
    #[error("the QR code could not be built: {0}")]
    Encode(String),
    /// Writing the PNG failed.
    #[error("the PNG could not be written: {0}")]
    Png(String),
    /// The image has no bytes.
    #[error("the image is empty")]
    EmptyImage,
    /// The image file is larger than accepted; nothing was decoded.
    #[error("the image is {len} bytes; at most {max} are accepted")]
    ImageTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The largest accepted, in bytes.
        max: usize,
    },
    /// The image's dimensions exceed the pixel budget; nothing was decoded.
    #[error("the image has {pixels} pixels; at most {max} are accepted")]
    TooManyPixels {
        /// Width times height.
        pixels: u64,
        /// The most accepted.
        max: u64,
    },
    /// The image has more than 8 bits per channel.
    #[error("the image has {bits} bits per channel; at most 8 are accepted")]
    BitDepth {
        /// Bits per channel.
        bits: u16,
    },
    /// Decoding took longer than its time budget and was stopped.
    #[error("reading the QR code took longer than the time budget")]
    Timeout,
    /// Decoding was stopped through a [`Cancel`].
    #[error("reading the QR code was cancelled")]
    Cancelled,
    /// The bytes are not a PNG or JPEG that can be decoded.
    #[error("the image is not a PNG or JPEG that can be read: {0}")]
    ImageFormat(String),
    /// The image holds no QR code that could be located.
    #[error("no QR code was found in the image")]
    NoQrCode,
    /// A QR code was located but its content could not be read.
    #[error("a QR code was found but could not be read: {0}")]
    Unreadable(String),
}

impl QrError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            QrError::TooLong => "qr_too_long",
            QrError::Encode(_) => "qr_encode_failed",
            QrError::Png(_) => "png_write_failed",
            QrError::EmptyImage => "image_empty",
            QrError::ImageTooLarge { .. } | QrError::TooManyPixels { .. } => "image_too_large",
            QrError::BitDepth { .. } => "image_bit_depth",
            QrError::Timeout => "qr_decode_timeout",
            QrError::Cancelled => "qr_decode_cancelled",
            QrError::ImageFormat(_) => "image_unreadable",
            QrError::NoQrCode => "no_qr_code",
            QrError::Unreadable(_) => "qr_unreadable",
        }
    }
}

/// A rendered QR code.
#[derive(Clone)]
pub struct Qr {
    code: QrCode,
    alphanumeric: bool,
}

impl std::fmt::Debug for Qr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qr")
            .field("version", &self.version())
            .field("alphanumeric", &self.alphanumeric)
            .finish()
    }
}

/// Encodes `text` at ECC level M in the smallest version that holds it.
pub fn encode(text: &str) -> Result<Qr, QrError> {
    if is_qr_alphanumeric(text) {
        for v in 1..=40 {
            let mut bits = Bits::new(Version::Normal(v));
            if bits.push_alphanumeric_data(text.as_bytes()).is_err()
                || bits.push_terminator(EcLevel::M).is_err()
            {
                continue;
            }
            let code =
                QrCode::with_bits(bits, EcLevel::M).map_err(|e| QrError::Encode(e.to_string()))?;
            return Ok(Qr {
                code,
                alphanumeric: true,
            });
        }
        return Err(QrError::TooLong);
    }
    let code =
        QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| match e {
            qrcode::types::QrError::DataTooLong => QrError::TooLong,
            other => QrError::Encode(other.to_string()),
        })?;
    Ok(Qr {
        code,
        alphanumeric: false,
    })
}

impl Qr {
    /// The QR version (1–40).
    pub fn version(&self) -> i16 {
        match self.code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        }
    }

    /// Whether the whole text went into one alphanumeric segment.
    pub fn is_alphanumeric(&self) -> bool {
        self.alphanumeric
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.code.width()
    }

    /// An SVG document (black on white, 4-module quiet zone, 8 units per module).
    pub fn to_svg(&self) -> String {
        self.code
            .render::<qrcode::render::svg::Color<'_>>()
            .module_dimensions(8, 8)
            .quiet_zone(true)
            .build()
    }

    /// A greyscale PNG with `module_px` pixels per module (clamped to 1..=32) and a quiet zone.
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        let px = module_px.clamp(1, 32);
        let img = self
            .code
            .render::<image::Luma<u8>>()
            .module_dimensions(px, px)
            .quiet_zone(true)
            .build();
        let mut out = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| QrError::Png(e.to_string()))?;
        Ok(out)
    }
}

/// Reads every QR code in a PNG or JPEG image (e.g. a photo of a grant). Returns their texts in
/// the order found; an error if none can be read. Bounded in size, pixels, bit depth, memory
/// and time ([`DEFAULT_DECODE_BUDGET`]); see [`decode_image_within`].
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, QrError> {
    decode_image_within(bytes, DEFAULT_DECODE_BUDGET, &Cancel::new())
}

/// [`decode_image`] with a time budget and a cancellation flag. The size, the pixel count and
/// the bit depth are checked from the header before anything is decoded; QR detection checks
/// the budget and the flag as it goes and gives up (`qr_decode_timeout`,
/// `qr_decode_cancelled`) instead of running on.
pub fn decode_image_within(
    bytes: &[u8],
    budget: Duration,
    cancel: &Cancel,
) -> Result<Vec<String>, QrError> {
    let started = Instant::now();
    if bytes.is_empty() {
        return Err(QrError::EmptyImage);
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(QrError::ImageTooLarge {
            len: bytes.len(),
            max: MAX_IMAGE_BYTES,
        });
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::ImageFormat(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_DIMENSION);
    limits.max_image_height = Some(MAX_IMAGE_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| QrError::ImageFormat(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(QrError::TooManyPixels {
            pixels,
            max: MAX_IMAGE_PIXELS,
        });
    }
    let color = decoder.color_type();
    let channels = u16::from(color.channel_count().max(1));
    let bits = color.bits_per_pixel() / channels;
    if bits > MAX_BITS_PER_CHANNEL {
        return Err(QrError::BitDepth { bits });
    }
    let img = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| QrError::ImageFormat(e.to_string()))?
        .into_luma8();
    let stop = Rc::new(Stop {
        deadline: started + budget,
        cancel: cancel.clone(),
        state: Cell::new(0),
        ticks: Cell::new(0),
    });
    stop.check();
    if let Some(e) = stop.error() {
        return Err(e);
    }
    let buffer = Budgeted {
        w: img.width(),
        h: img.height(),
        pixels: Rc::new(img.into_raw()),
        stop: stop.clone(),
        sink: image::Luma([0]),
    };
    // rqrr asserts its own invariants with panics; a budget that stops it midway (every pixel
    // then reads as empty) can trip one, and so could a crafted image. Either way the result is
    // a refusal with a code, never a crashed thread.
    let detected = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut prepared = rqrr::PreparedImage::prepare(buffer);
        let grids = prepared.detect_grids();
        let mut texts = Vec::new();
        let mut last_error = None;
        let found = !grids.is_empty();
        for grid in grids {
            match grid.decode() {
                Ok((_, text)) => texts.push(text),
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        (found, texts, last_error)
    }));
    if let Some(e) = stop.error() {
        return Err(e);
    }
    let Ok((found, texts, last_error)) = detected else {
        return Err(QrError::Unreadable(
            "the QR detector failed on this image".into(),
        ));
    };
    if !found {
        return Err(QrError::NoQrCode);
    }
    match (texts.is_empty(), last_error) {
        (false, _) => Ok(texts),
        (true, Some(e)) => Err(QrError::Unreadable(e)),
        (true, None) => Err(QrError::NoQrCode),
    }
}

/// The decoder's budget: once the deadline passes or the flag is set, it latches.
#[derive(Debug)]
struct Stop {
    deadline: Instant,
    cancel: Cancel,
    /// 0 running, 1 out of time, 2 cancelled.
    state: Cell<u8>,
    ticks: Cell<u32>,
}

impl Stop {
    /// Whether detection must stop; the clock is read every 4096 calls.
    fn hit(&self) -> bool {
        if self.state.get() != 0 {
            return true;
        }
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t.is_multiple_of(4096) {
            self.check();
        }
        self.state.get() != 0
    }

    fn check(&self) {
        if self.cancel.is_cancelled() {
            self.state.set(2);
        } else if Instant::now() >= self.deadline {
            self.state.set(1);
        }
    }

    fn error(&self) -> Option<QrError> {
        match self.state.get() {
            0 => None,
            1 => Some(QrError::Timeout),
            _ => Some(QrError::Cancelled),
        }
    }
}

/// rqrr's pixel store with a budget: once stopped, every pixel reads as light and writes are
/// dropped, and clones (rqrr clones the image for every candidate group of finder patterns)
/// share one buffer until written, so whatever detection has left to do finishes at once.
#[derive(Debug, Clone)]
struct Budgeted {
    w: u32,
    h: u32,
    pixels: Rc<Vec<u8>>,
    stop: Rc<Stop>,
    /// Where writes go once stopped (`get_pixel_mut` must return something).
    sink: image::Luma<u8>,
}

impl Budgeted {
    fn index(&self, x: u32, y: u32) -> usize {
        (y as usize)
            .saturating_mul(self.w as usize)
            .saturating_add(x as usize)
    }
}

impl image::GenericImageView for Budgeted {
    type Pixel = image::Luma<u8>;
    fn dimensions(&self) -> (u32, u32) {
        (self.w, self.h)
    }
    fn get_pixel(&self, x: u32, y: u32) -> image::Luma<u8> {
        if self.stop.hit() {
            // rqrr's "white / empty" state: detection finds nothing more and its loops end.
            return image::Luma([0]);
        }
        image::Luma([self.pixels.get(self.index(x, y)).copied().unwrap_or(0)])
    }
}

impl image::GenericImage for Budgeted {
    fn get_pixel_mut(&mut self, x: u32, y: u32) -> &mut image::Luma<u8> {
        let i = self.index(x, y);
        if !self.stop.hit()
            && let Some(p) = Rc::make_mut(&mut self.pixels).get_mut(i)
        {
            return <image::Luma<u8> as image::Pixel>::from_slice_mut(std::slice::from_mut(p));
        }
        &mut self.sink
    }
    fn put_pixel(&mut self, x: u32, y: u32, pixel: image::Luma<u8>) {
        let i = self.index(x, y);
        if self.stop.hit() {
            return;
        }
        if let Some(p) = Rc::make_mut(&mut self.pixels).get_mut(i) {
            *p = pixel.0[0];
        }
    }
    fn blend_pixel(&mut self, x: u32, y: u32, pixel: image::Luma<u8>) {
        self.put_pixel(x, y, pixel);
    }
}
