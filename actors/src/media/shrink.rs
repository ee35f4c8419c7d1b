//! Shrinking an image to fit a square: whole factors first with a box average (what area sampling
//! computes at those factors, at a fraction of its cost), then area sampling for what remains.

use image::{DynamicImage, RgbImage, RgbaImage};

/// Pixels already shrunk to fit `side`, handed from the unit that decoded them to the thumbnailer so
/// the image is not decoded twice.
pub struct Preview {
    pub side: u32,
    pub image: DynamicImage,
}

impl Preview {
    pub fn of(image: DynamicImage, side: u32) -> Preview {
        Preview { side, image: fit_within(image, side) }
    }

    pub fn bytes(&self) -> usize {
        self.image.as_bytes().len()
    }
}

impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Preview({}x{} for {})", self.image.width(), self.image.height(), self.side)
    }
}

/// The image, 8 bits per channel, no larger than `side` on either axis and never upscaled.
pub fn fit_within(image: DynamicImage, side: u32) -> DynamicImage {
    let side = side.max(1);
    let (width, height) = (image.width(), image.height());
    if width <= side && height <= side {
        return image;
    }
    let factor = (width.max(height) / side).max(1);
    let boxed = if factor < 2 {
        image
    } else if image.color().has_alpha() {
        let rgba = image.into_rgba8();
        let (raw, w, h) = box_shrink::<4>(rgba.as_raw(), width, height, factor);
        DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, raw).expect("buffer matches its size"))
    } else {
        let rgb = image.into_rgb8();
        let (raw, w, h) = box_shrink::<3>(rgb.as_raw(), width, height, factor);
        DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, raw).expect("buffer matches its size"))
    };
    if boxed.width() > side || boxed.height() > side { boxed.thumbnail(side, side) } else { boxed }
}

/// Averages `factor`×`factor` blocks; the last `width % factor` columns and `height % factor` rows are
/// left out (under one output pixel's worth). Rows are summed first (a straight loop the compiler
/// vectorises), then each block's columns.
fn box_shrink<const CHANNELS: usize>(raw: &[u8], width: u32, height: u32, factor: u32) -> (Vec<u8>, u32, u32) {
    let channels = CHANNELS;
    let (out_width, out_height) = ((width / factor).max(1) as usize, (height / factor).max(1) as usize);
    let (k_x, k_y) = ((factor as usize).min(width as usize), (factor as usize).min(height as usize));
    let row_len = width as usize * channels;
    let used = out_width * k_x * channels;
    let count = (k_x * k_y) as u32;
    let mut column_sums = vec![0u32; used];
    let mut out = Vec::with_capacity(out_width * channels * out_height);
    for out_y in 0..out_height {
        column_sums.fill(0);
        for row in raw[out_y * k_y * row_len..].chunks(row_len).take(k_y) {
            for (sum, value) in column_sums.iter_mut().zip(&row[..used]) {
                *sum += u32::from(*value);
            }
        }
        for block in column_sums.chunks_exact(k_x * channels) {
            let mut totals = [0u32; CHANNELS];
            for pixel in block.chunks_exact(CHANNELS) {
                for (total, sum) in totals.iter_mut().zip(pixel) {
                    *total += sum;
                }
            }
            out.extend(totals.map(|total| ((total + count / 2) / count) as u8));
        }
    }
    (out, out_width as u32, out_height as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_factors_average_blocks() {
        let image = RgbImage::from_fn(4, 2, |x, _| image::Rgb([(x * 10) as u8, 100, 255]));
        let small = fit_within(DynamicImage::ImageRgb8(image), 2).to_rgb8();
        assert_eq!((small.width(), small.height()), (2, 1));
        assert_eq!(small.get_pixel(0, 0).0, [5, 100, 255]);
        assert_eq!(small.get_pixel(1, 0).0, [25, 100, 255]);
    }

    #[test]
    fn results_fit_and_keep_alpha_and_small_images_stay() {
        let wide = DynamicImage::ImageRgba8(RgbaImage::new(1792, 1024));
        let small = fit_within(wide, 512);
        assert!(small.width() == 512 && small.height() <= 512 && small.color().has_alpha());
        let odd = fit_within(DynamicImage::ImageRgb8(RgbImage::new(1023, 7)), 512);
        assert_eq!((odd.width(), odd.height()), (512, 4));
        let tiny = fit_within(DynamicImage::ImageRgb8(RgbImage::new(30, 20)), 512);
        assert_eq!((tiny.width(), tiny.height()), (30, 20));
    }
}
