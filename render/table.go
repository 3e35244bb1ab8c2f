package render

// Table returns c's colours as lutSize (4096) RGB levels for values
// 0, 1/4095, …, 1: the table Overlay colours with, for callers that
// colour maps elsewhere (TensorFlow ops) and must match it. It is nil for
// an unknown colormap.
func (c Colormap) Table() [][3]uint8 {
	lut := c.lut()
	if lut == nil {
		return nil
	}
	out := make([][3]uint8, len(lut))
	for i, col := range lut {
		out[i] = [3]uint8{col.R, col.G, col.B}
	}
	return out
}

// TableLevels is the number of levels in Table: a map value v picks level
// round(clamp(v, 0, 1)·(TableLevels−1)).
const TableLevels = lutSize
