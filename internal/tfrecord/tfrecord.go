// Package tfrecord writes and reads TFRecord files: the record framing
// tf.data.TFRecordDataset reads (length, masked CRC-32C of the length,
// data, masked CRC-32C of the data), uncompressed. It must not know what
// the records hold.
package tfrecord

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// mask is TFRecord's masked CRC: rotated right by 15 bits plus a constant,
// so that a CRC of data containing CRCs stays well distributed.
func mask(crc uint32) uint32 { return (crc>>15 | crc<<17) + 0xa282ead8 }

// Append frames data as one record and writes it to w in one Write call;
// it returns the bytes written (len(data)+16).
func Append(w io.Writer, data []byte) (int, error) {
	buf := make([]byte, 12, 16+len(data))
	binary.LittleEndian.PutUint64(buf, uint64(len(data)))
	binary.LittleEndian.PutUint32(buf[8:], mask(crc32.Checksum(buf[:8], castagnoli)))
	buf = append(buf, data...)
	buf = binary.LittleEndian.AppendUint32(buf, mask(crc32.Checksum(data, castagnoli)))
	return w.Write(buf)
}

// ErrCorrupt means a record's length or data does not match its checksum,
// or the file ends inside a record.
var ErrCorrupt = errors.New("tfrecord: corrupt or truncated record")

// Reader reads records one by one.
type Reader struct {
	r   *bufio.Reader
	off int64
}

// NewReader reads records from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 1<<16)} }

// Offset is the byte offset just after the last record read.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next record's data, io.EOF at a clean end, or an error
// wrapping ErrCorrupt. maxLen bounds a record's length (a corrupt length
// must not allocate gigabytes).
func (r *Reader) Next(maxLen int) ([]byte, error) {
	var head [12]byte
	if _, err := io.ReadFull(r.r, head[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w at offset %d: %v", ErrCorrupt, r.off, err)
	}
	n := binary.LittleEndian.Uint64(head[:])
	if mask(crc32.Checksum(head[:8], castagnoli)) != binary.LittleEndian.Uint32(head[8:]) || n > uint64(maxLen) {
		return nil, fmt.Errorf("%w at offset %d: bad length", ErrCorrupt, r.off)
	}
	data := make([]byte, n+4)
	if _, err := io.ReadFull(r.r, data); err != nil {
		return nil, fmt.Errorf("%w at offset %d: %v", ErrCorrupt, r.off, err)
	}
	if mask(crc32.Checksum(data[:n], castagnoli)) != binary.LittleEndian.Uint32(data[n:]) {
		return nil, fmt.Errorf("%w at offset %d: bad data checksum", ErrCorrupt, r.off)
	}
	r.off += int64(n) + 16
	return data[:n], nil
}
