package imagefile

import "image"

// DecodeBytes is Decode for a file already read into memory (tfcam reads
// each file once and hands the bytes to TensorFlow's decoders first; this
// is the fallback for what those cannot read). name is used in errors only.
func DecodeBytes(data []byte, name string) (image.Image, error) {
	return decodeBytes(data, name)
}

// Orientation returns the EXIF orientation (1-8) of JPEG data, or 0 when
// it has none: what Decode applies, for decoders that do not.
func Orientation(data []byte) int { return jpegOrientation(data) }

// Affine returns preset p resolved for c channels (1 or 3): model value k
// is scale[k]*v + bias[k], where v is channel k of the RGB pixel (of BGR
// when bgr is set, of the BT.601 luma for c = 1), 0..255 — what ToTensor
// computes, for callers that preprocess elsewhere (TensorFlow ops).
func (p Preprocess) Affine(c int) (scale, bias [3]float32, bgr bool, err error) {
	a, err := p.affine(c)
	return a.scale, a.bias, a.bgr, err
}
