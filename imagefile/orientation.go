package imagefile

import (
	"encoding/binary"
	"image"

	"github.com/disintegration/imaging"
)

// EXIF orientation values (TIFF tag 0x0112): how the stored pixels must be
// transformed to be shown upright. 0 means no tag.
const (
	orientNone       = 0
	orientNormal     = 1
	orientFlipH      = 2
	orientRotate180  = 3
	orientFlipV      = 4
	orientTranspose  = 5
	orientRotate90CW = 6
	orientTransverse = 7
	orientRotate90CC = 8
)

// applyOrientation returns img transformed so that it displays upright for
// the EXIF orientation o; unknown values leave img as it is.
func applyOrientation(img image.Image, o int) image.Image {
	switch o {
	case orientFlipH:
		return imaging.FlipH(img)
	case orientRotate180:
		return imaging.Rotate180(img)
	case orientFlipV:
		return imaging.FlipV(img)
	case orientTranspose:
		return imaging.Transpose(img)
	case orientRotate90CW:
		return imaging.Rotate270(img) // imaging rotates counter-clockwise
	case orientTransverse:
		return imaging.Transverse(img)
	case orientRotate90CC:
		return imaging.Rotate90(img)
	}
	return img
}

// jpegOrientation returns the EXIF orientation (1-8) of the JPEG data, or 0
// when there is none or the metadata is malformed: a broken tag must never
// stop an otherwise good photo from decoding. Unlike imaging's reader it
// looks past a first APP1 segment that holds XMP rather than EXIF.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return orientNone
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return orientNone
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte before a marker
			i++
			continue
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7): // no length field
			i += 2
			continue
		case marker == 0xda || marker == 0xd9: // start of scan / end of image: metadata is over
			return orientNone
		}
		size := int(binary.BigEndian.Uint16(data[i+2:]))
		end := i + 2 + size
		if size < 2 || end > len(data) {
			return orientNone
		}
		if seg := data[i+4 : end]; marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != orientNone {
				return o
			}
		}
		i = end
	}
	return orientNone
}

// tiffOrientation reads the orientation tag from IFD0 of a TIFF structure
// (the body of an EXIF segment), or returns 0.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return orientNone
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return orientNone
	}
	if bo.Uint16(t[2:]) != 42 {
		return orientNone
	}
	ifd := bo.Uint32(t[4:])
	if ifd < 8 || uint64(ifd)+2 > uint64(len(t)) {
		return orientNone
	}
	n := int(bo.Uint16(t[ifd:]))
	for k := 0; k < n; k++ {
		e := int(ifd) + 2 + 12*k
		if e+12 > len(t) {
			return orientNone
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		var v uint32
		switch typ := bo.Uint16(t[e+2:]); typ {
		case 3: // SHORT, the type the EXIF standard prescribes
			v = uint32(bo.Uint16(t[e+8:]))
		case 4: // LONG, written by a few tools
			v = bo.Uint32(t[e+8:])
		default:
			return orientNone
		}
		if v < orientNormal || v > orientRotate90CC {
			return orientNone
		}
		return int(v)
	}
	return orientNone
}
