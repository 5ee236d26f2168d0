//! Text for the printed export: shaped with the embedded Noto fonts and written as subset
//! CID fonts, so a Bangla name prints as Bangla.
//!
//! Four faces are embedded in the library (SIL Open Font License, `fonts/OFL.txt`): Noto Sans
//! (Latin, Greek, Cyrillic) and Noto Sans Bengali, each regular and bold. A line is split into
//! runs by script; each run is shaped with rustybuzz (HarfBuzz's algorithm: Bengali conjuncts,
//! reordered vowel signs, mark positioning) and drawn glyph by glyph with the shaper's advances
//! and offsets. Only the glyphs used are embedded (subsetter). Text extraction gets the original
//! Unicode back: every glyph that starts a cluster maps to the cluster's text (`ToUnicode`), and
//! each Bengali run is also marked with its text (`/ActualText`), since one glyph there may stand
//! for several characters in an order the glyphs do not follow.
//!
//! Characters that neither font has (another script) print as the fonts' empty box; the
//! attached export file keeps them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use rustybuzz::{Face, UnicodeBuffer};
use subsetter::GlyphRemapper;

use crate::ExportError;

/// One embedded face.
struct Embedded {
    data: &'static [u8],
    /// The PostScript name, for `/BaseFont`.
    name: &'static str,
    /// The resource name in page dictionaries.
    resource: &'static [u8],
}

const FACES: [Embedded; 4] = [
    Embedded {
        data: include_bytes!("../fonts/NotoSans-Regular.ttf"),
        name: "NotoSans-Regular",
        resource: b"F1",
    },
    Embedded {
        data: include_bytes!("../fonts/NotoSans-Bold.ttf"),
        name: "NotoSans-Bold",
        resource: b"F2",
    },
    Embedded {
        data: include_bytes!("../fonts/NotoSansBengali-Regular.ttf"),
        name: "NotoSansBengali-Regular",
        resource: b"F3",
    },
    Embedded {
        data: include_bytes!("../fonts/NotoSansBengali-Bold.ttf"),
        name: "NotoSansBengali-Bold",
        resource: b"F4",
    },
];

/// The parsed faces, once per process.
fn faces() -> Result<&'static [Face<'static>; 4], ExportError> {
    static PARSED: OnceLock<Option<[Face<'static>; 4]>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let [a, b, c, d] = &FACES;
            Some([
                Face::from_slice(a.data, 0)?,
                Face::from_slice(b.data, 0)?,
                Face::from_slice(c.data, 0)?,
                Face::from_slice(d.data, 0)?,
            ])
        })
        .as_ref()
        .ok_or_else(|| ExportError::Render("an embedded font does not parse".into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Bengali,
}

fn script_of(c: char) -> Option<Script> {
    match c {
        // The Bengali block, and the danda and double danda that Bengali shares with Devanagari.
        '\u{0980}'..='\u{09ff}' | '\u{0964}' | '\u{0965}' => Some(Script::Bengali),
        // Spaces and joiners belong to the run they are in.
        ' ' | '\u{a0}' | '\u{200c}' | '\u{200d}' => None,
        _ => Some(Script::Latin),
    }
}

/// Face index: Latin regular, Latin bold, Bengali regular, Bengali bold.
fn face_index(script: Script, bold: bool) -> usize {
    match script {
        Script::Latin => usize::from(bold),
        Script::Bengali => 2 + usize::from(bold),
    }
}

/// A shaped glyph, in thousandths of the font size.
#[derive(Debug, Clone)]
struct Glyph {
    id: u16,
    advance: f32,
    dx: f32,
    dy: f32,
    /// The characters this glyph starts (empty for the second glyph of a cluster).
    text: String,
}

/// A run of one face.
#[derive(Debug, Clone)]
struct Run {
    face: usize,
    text: String,
    glyphs: Vec<Glyph>,
}

/// A shaped line.
#[derive(Debug, Clone)]
struct Shaped {
    runs: Vec<Run>,
    /// Width in thousandths of the font size.
    width: f32,
}

/// Splits text into runs of one script: spaces and joiners stay in the run they are in.
fn runs(text: &str) -> Vec<(Script, &str)> {
    let mut out: Vec<(Script, &str)> = Vec::new();
    let mut start = 0;
    let mut current: Option<Script> = None;
    for (i, c) in text.char_indices() {
        let Some(s) = script_of(c) else { continue };
        match current {
            None => current = Some(s),
            Some(cur) if cur != s => {
                out.push((cur, &text[start..i]));
                start = i;
                current = Some(s);
            }
            Some(_) => {}
        }
    }
    if start < text.len() {
        out.push((current.unwrap_or(Script::Latin), &text[start..]));
    }
    out
}

fn shape_run(faces: &[Face<'static>; 4], face: usize, text: &str) -> Run {
    let f = &faces[face];
    let scale = 1000.0 / f32::from(f.units_per_em().max(1) as u16);
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(f, &[], buffer);
    let infos = shaped.glyph_infos();
    let positions = shaped.glyph_positions();
    // Cluster starts in text order, to cut each cluster's characters.
    let mut starts: Vec<usize> = infos.iter().map(|g| g.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut seen = std::collections::HashSet::new();
    let glyphs = infos
        .iter()
        .zip(positions)
        .map(|(info, pos)| {
            let cluster = info.cluster as usize;
            let text = if seen.insert(cluster) {
                let end = starts
                    .iter()
                    .find(|&&s| s > cluster)
                    .copied()
                    .unwrap_or(text.len());
                text.get(cluster..end).unwrap_or_default().to_owned()
            } else {
                String::new()
            };
            Glyph {
                id: u16::try_from(info.glyph_id).unwrap_or(0),
                advance: pos.x_advance as f32 * scale,
                dx: pos.x_offset as f32 * scale,
                dy: pos.y_offset as f32 * scale,
                text,
            }
        })
        .collect();
    Run {
        face,
        text: text.to_owned(),
        glyphs,
    }
}

/// What one face contributed to the document.
#[derive(Default)]
struct Usage {
    remapper: GlyphRemapper,
    /// New glyph id → (width in thousandths, text for `ToUnicode`).
    glyphs: BTreeMap<u16, (f32, String)>,
}

/// Shapes, measures and draws text; collects the glyphs used, then writes the fonts.
pub(crate) struct Typesetter {
    faces: &'static [Face<'static>; 4],
    widths: RefCell<HashMap<(String, bool), f32>>,
    used: RefCell<[Usage; 4]>,
}

impl Typesetter {
    pub(crate) fn new() -> Result<Self, ExportError> {
        Ok(Self {
            faces: faces()?,
            widths: RefCell::default(),
            used: RefCell::default(),
        })
    }

    fn shape(&self, text: &str, bold: bool) -> Shaped {
        let runs: Vec<Run> = runs(text)
            .into_iter()
            .map(|(script, t)| shape_run(self.faces, face_index(script, bold), t))
            .collect();
        let width = runs.iter().flat_map(|r| &r.glyphs).map(|g| g.advance).sum();
        Shaped { runs, width }
    }

    /// The width of `text` at `size` points. Words are shaped once and remembered (a long
    /// export measures the same words many times while wrapping).
    pub(crate) fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        let space = self.word_width(" ", bold);
        let mut total = 0.0;
        for (i, word) in text.split(' ').enumerate() {
            if i > 0 {
                total += space;
            }
            if !word.is_empty() {
                total += self.word_width(word, bold);
            }
        }
        total * size / 1000.0
    }

    fn word_width(&self, word: &str, bold: bool) -> f32 {
        let key = (word.to_owned(), bold);
        if let Some(w) = self.widths.borrow().get(&key) {
            return *w;
        }
        let w = self.shape(word, bold).width;
        self.widths.borrow_mut().insert(key, w);
        w
    }

    /// Draws `text` with its baseline at (`x`, `y`); the fill colour is the caller's.
    pub(crate) fn draw(&self, c: &mut Content, x: f32, y: f32, text: &str, bold: bool, size: f32) {
        let shaped = self.shape(text, bold);
        let mut used = self.used.borrow_mut();
        let mut pen = x;
        let k = size / 1000.0;
        for run in &shaped.runs {
            let face = &self.faces[run.face];
            let scale = 1000.0 / f32::from(face.units_per_em().max(1) as u16);
            let usage = &mut used[run.face];
            let marked = run.face >= 2;
            if marked {
                c.begin_marked_content_with_properties(Name(b"Span"))
                    .properties()
                    .actual_text(TextStr(&run.text));
            }
            c.begin_text();
            c.set_font(Name(FACES[run.face].resource), size);
            // Glyphs without offsets go out together in one TJ, with adjustments where the
            // shaper's advance differs from the glyph's own width; an offset glyph goes alone.
            let mut batch: Vec<(u16, f32)> = Vec::new();
            let mut batch_x = pen;
            let flush = |c: &mut Content, batch: &mut Vec<(u16, f32)>, at: f32| {
                if batch.is_empty() {
                    return;
                }
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, at, y]);
                let mut tj = c.show_positioned();
                let mut items = tj.items();
                for (cid, adjust) in batch.drain(..) {
                    items.show(Str(&cid.to_be_bytes()));
                    if adjust.abs() > 0.01 {
                        items.adjust(adjust);
                    }
                }
            };
            for g in &run.glyphs {
                let cid = usage.remapper.remap(g.id);
                let own = self.faces[run.face]
                    .glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(g.id))
                    .map_or(g.advance, |a| f32::from(a) * scale);
                let entry = usage
                    .glyphs
                    .entry(cid)
                    .or_insert_with(|| (own, String::new()));
                if entry.1.is_empty() && !g.text.is_empty() {
                    entry.1.clone_from(&g.text);
                }
                if g.dx != 0.0 || g.dy != 0.0 {
                    flush(c, &mut batch, batch_x);
                    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, pen + g.dx * k, y + g.dy * k]);
                    c.show(Str(&cid.to_be_bytes()));
                    pen += g.advance * k;
                    batch_x = pen;
                } else {
                    if batch.is_empty() {
                        batch_x = pen;
                    }
                    batch.push((cid, own - g.advance));
                    pen += g.advance * k;
                }
            }
            flush(c, &mut batch, batch_x);
            c.end_text();
            if marked {
                c.end_marked_content();
            }
        }
    }

    /// The fonts the pages name, as (resource name, font reference); writes them into `pdf`,
    /// taking object numbers from `next`.
    pub(crate) fn write_fonts(
        self,
        pdf: &mut Pdf,
        next: &mut i32,
    ) -> Result<Vec<(Name<'static>, Ref)>, ExportError> {
        let mut alloc = || {
            let r = Ref::new(*next);
            *next += 1;
            r
        };
        let mut out = Vec::new();
        for (i, usage) in self.used.into_inner().into_iter().enumerate() {
            if usage.glyphs.is_empty() {
                continue;
            }
            let embedded = &FACES[i];
            let face = &self.faces[i];
            let subset = subsetter::subset(embedded.data, 0, &usage.remapper)
                .map_err(|e| ExportError::Render(format!("font subset: {e}")))?;
            let (type0, cid, descriptor, file, cmap) =
                (alloc(), alloc(), alloc(), alloc(), alloc());
            // The subset tag: six capitals, different per face (PDF 9.6.4).
            let tag: String = (0..6)
                .map(|k| char::from(b'A' + ((i * 7 + k) % 26) as u8))
                .collect();
            let base = format!("{tag}+{}", embedded.name);
            let base = Name(base.as_bytes());
            pdf.type0_font(type0)
                .base_font(base)
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(cmap);
            let info = SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            };
            {
                let mut f = pdf.cid_font(cid);
                f.subtype(CidFontType::Type2)
                    .base_font(base)
                    .system_info(info)
                    .font_descriptor(descriptor)
                    .default_width(0.0)
                    .cid_to_gid_map_predefined(Name(b"Identity"));
                let mut w = f.widths();
                for (cid, (width, _)) in &usage.glyphs {
                    w.consecutive(*cid, [*width]);
                }
                w.finish();
                f.finish();
            }
            let scale = 1000.0 / f32::from(face.units_per_em().max(1) as u16);
            let bbox = face.global_bounding_box();
            pdf.font_descriptor(descriptor)
                .name(base)
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(Rect::new(
                    f32::from(bbox.x_min) * scale,
                    f32::from(bbox.y_min) * scale,
                    f32::from(bbox.x_max) * scale,
                    f32::from(bbox.y_max) * scale,
                ))
                .italic_angle(0.0)
                .ascent(f32::from(face.ascender()) * scale)
                .descent(f32::from(face.descender()) * scale)
                .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * scale)
                .stem_v(if i % 2 == 1 { 120.0 } else { 80.0 })
                .font_file2(file);
            let packed = crate::pdf::deflate(&subset)?;
            pdf.stream(file, &packed).filter(Filter::FlateDecode).pair(
                Name(b"Length1"),
                i32::try_from(subset.len()).unwrap_or(i32::MAX),
            );
            let mut unicode = UnicodeCmap::new(Name(b"Spondon-UTF16"), info);
            for (cid, (_, text)) in &usage.glyphs {
                if !text.is_empty() {
                    unicode.pair_with_multiple(*cid, text.chars());
                }
            }
            pdf.cmap(cmap, &unicode.finish())
                .name(Name(b"Spondon-UTF16"))
                .system_info(info);
            out.push((Name(embedded.resource), type0));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_by_script_and_keep_spaces() {
        let r = runs("রহিম উদ্দিন (Rahim Uddin)");
        assert_eq!(
            r,
            vec![
                (Script::Bengali, "রহিম উদ্দিন "),
                (Script::Latin, "(Rahim Uddin)")
            ]
        );
        assert_eq!(runs("  "), vec![(Script::Latin, "  ")]);
        assert!(runs("").is_empty());
    }

    #[test]
    fn bengali_is_shaped_into_conjuncts() {
        let t = Typesetter::new().expect("fonts");
        // ক্ষ (ka + virama + ssa) is one conjunct glyph, not three.
        let shaped = t.shape("ক্ষ", false);
        assert_eq!(shaped.runs.len(), 1);
        assert_eq!(
            shaped.runs[0].glyphs.len(),
            1,
            "{:?}",
            shaped.runs[0].glyphs
        );
        assert!(shaped.runs[0].glyphs.iter().all(|g| g.id != 0));
        // The pre-base vowel sign of কি is drawn first but the text keeps its order.
        let ki = t.shape("কি", false);
        let text: String = ki.runs[0].glyphs.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(text, "কি");
    }

    #[test]
    fn widths_are_positive_and_bold_is_wider() {
        let t = Typesetter::new().expect("fonts");
        let regular = t.width("Platelet count", false, 10.0);
        let bold = t.width("Platelet count", true, 10.0);
        assert!(regular > 40.0 && bold > regular, "{regular} {bold}");
        assert!(t.width("রহিম", false, 10.0) > 10.0);
        assert_eq!(t.width("", false, 10.0), 0.0);
    }
}
