//! A setup code as a QR code, for a client that asks `enroll.create` for one (`includeQr`, as
//! OpenClaw's `device.pair.setupCode` returns a `qrDataUrl`): an SVG, dark modules on white with the
//! standard quiet zone, one path of horizontal runs (a few kilobytes). Rendered by the gateway so the
//! page's wasm need not carry a QR encoder.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone around the code, as the standard asks.
const QUIET: usize = 4;

/// `data` as an SVG QR code (error correction M), `size` CSS pixels wide, labelled `label` for
/// screen readers.
pub fn svg(data: &str, size: u32, label: &str) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| format!("cannot make a QR code: {e}"))?;
    let width = code.width();
    let colors = code.to_colors();
    let n = width + 2 * QUIET;
    let mut path = String::new();
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if colors[y * width + x] == Color::Dark {
                let start = x;
                while x < width && colors[y * width + x] == Color::Dark {
                    x += 1;
                }
                path += &format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET,
                    y + QUIET,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {n} {n}\" width=\"{size}\" \
         height=\"{size}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{label}\">\
         <rect width=\"{n}\" height=\"{n}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the SVG back into pixels (the viewBox, then each `M x y h w` run) and decodes it.
    fn decode(svg: &str) -> String {
        let n: usize = svg
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        let mut dark = vec![false; n * n];
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let w = rest.split('v').next().unwrap();
            let (x, y, w): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), w.parse().unwrap());
            for i in x..x + w {
                dark[y * n + i] = true;
            }
        }
        const SCALE: usize = 4;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(n * SCALE, n * SCALE, |x, y| {
            if dark[(y / SCALE) * n + x / SCALE] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_svg_decodes_to_the_setup_code() {
        let code = "eyJ1cmwiOiJ3czovLzEyNy4wLjAuMToxODc4OSIsImJvb3RzdHJhcFRva2VuIjoiam53enVWb1FUclBrc0ZnMjdKYmRla19pbEJhU2F1S1ZMWmU5SVNDanI1YyIsImV4cGlyZXNBdE1zIjoxNzk2Mjc2MzcxMjI0fQ";
        let svg = svg(code, 240, "QR code of the setup code <a&b>").unwrap();
        assert_eq!(decode(&svg), code);
        assert!(svg.contains("aria-label=\"QR code of the setup code &lt;a&amp;b>\""));
        assert!(svg.len() < 16 * 1024, "{} bytes", svg.len());
    }
}
