//! A QR code in a terminal: two rows of modules per line with half-block characters, light modules
//! (and the quiet zone) drawn, so it reads on the dark background most terminals have (phone
//! scanners read the light-on-dark form as well).

use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone around the code (the standard asks for 4; 2 scan well on a screen).
const QUIET: usize = 2;

/// `data` as a QR code (error correction M) drawn with `█▀▄ `, one line per two rows of modules.
pub(crate) fn render(data: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| anyhow::anyhow!("cannot make a QR code of this setup code: {e}"))?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    // Light (drawn) outside the code, and where the code's module is light.
    let light = |x: usize, y: usize| -> bool {
        if x < QUIET || y < QUIET || x >= width + QUIET || y >= width + QUIET {
            return true;
        }
        colors[(y - QUIET) * width + (x - QUIET)] == Color::Light
    };
    let mut out = String::with_capacity(size * (size / 2 + 1) * 3);
    for y in (0..size).step_by(2) {
        for x in 0..size {
            let top = light(x, y);
            let bottom = y + 1 >= size || light(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_as_wide_as_the_code_and_its_quiet_zone() {
        let text = render("eyJ1cmwiOiJ3czovLzEyNy4wLjAuMToxODc4OSJ9").unwrap();
        let widths: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]));
        assert_eq!(widths.len(), widths[0].div_ceil(2));
        // The first line is all quiet zone: fully drawn.
        assert!(text.lines().next().unwrap().chars().all(|c| c == '█'));
    }
}
