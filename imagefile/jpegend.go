package imagefile

// JPEGTruncated reports whether a JPEG file ends before its end-of-image
// marker: it walks the segments from the start-of-image marker, skips
// each scan's entropy-coded data (where 0xFF is followed by 0x00 stuffing
// or a restart marker) and reports true when the data runs out first. A
// file that is not a JPEG, or whose structure it cannot follow, is not
// called truncated: the decoder decides. Bytes after the end marker
// (camera trailers) are allowed.
//
// tfimage checks this before TensorFlow decodes: TensorFlow's decoder
// prints "Premature end of JPEG data" and libjpeg's "Input file read
// error" to the console for such a file, then fails; Go's decoder then
// names the file and the damage in one error.
func JPEGTruncated(data []byte) bool {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return false
	}
	i := 2
	for {
		if i+2 > len(data) {
			return true
		}
		if data[i] != 0xFF {
			return false // not at a marker: leave it to the decoder
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == 0xD9: // end of image
			return false
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // markers without a length
			i += 2
			continue
		}
		if i+4 > len(data) {
			return true
		}
		i += 2 + (int(data[i+2])<<8 | int(data[i+3]))
		if m != 0xDA {
			continue
		}
		// Start of scan: skip its entropy-coded data to the next marker.
		for ; i+1 < len(data); i++ {
			if data[i] == 0xFF {
				if n := data[i+1]; n != 0x00 && n != 0xFF && (n < 0xD0 || n > 0xD7) {
					break
				}
			}
		}
		if i+1 >= len(data) {
			return true
		}
	}
}
