// Package inputs turns what a user names — files, folders, globs, @lists,
// stdin, object-store objects and prefixes — into the images of a run,
// each with its output key, and splits them among the shards of a
// fanned-out job.
//
// It owns: expansion (Expand, ExpandFiles, StreamPrefix), the keys that
// name an image's output folder (FileKey, WalkKey, CheckKey, OutputDir)
// and shards (Shard, ResolveShard). Every path that cannot be used is
// passed to the caller's bad function with a reason (errors.Is: ErrNoMatch,
// ErrDanglingLink, ErrDuplicateKey, fs.ErrNotExist, fs.ErrPermission,
// imagefile.ErrNotRegular) and the rest goes on.
//
// It must not read images (that is the batch engine's job, later, with
// imagefile.ReadFile) nor write anything.
package inputs
