package collector

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ixpd/ixpd/flow"
)

// spool keeps batches on disk while the store cannot take them, bounded in
// bytes. Each batch is one file, written to a temporary name and renamed,
// so a crash leaves whole batches or nothing; files are replayed oldest
// first and removed once the store has them.
type spool struct {
	dir      string
	maxBytes int64

	mu    sync.Mutex
	next  uint64
	files []spoolFile // oldest first
	bytes int64
}

type spoolFile struct {
	seq  uint64
	size int64
}

// errSpoolFull is returned when a batch does not fit in the spool.
var errSpoolFull = errors.New("spool full")

func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool directory: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name)) // an interrupted write
			continue
		}
		seqText, ok := strings.CutSuffix(strings.TrimPrefix(name, "batch-"), ".gob")
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if !ok || err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		s.files = append(s.files, spoolFile{seq: seq, size: info.Size()})
		s.bytes += info.Size()
		s.next = max(s.next, seq+1)
	}
	slices.SortFunc(s.files, func(a, b spoolFile) int { return int(a.seq - b.seq) })
	return s, nil
}

func (s *spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("batch-%020d.gob", seq))
}

// put writes a batch to disk.
func (s *spool) put(batch []flow.Flow) error {
	s.mu.Lock()
	seq := s.next
	s.next++
	s.mu.Unlock()
	tmp := s.path(seq) + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("spool batch: %w", err)
	}
	if err := gob.NewEncoder(f).Encode(batch); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("spool batch: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("spool batch: %w", err)
	}
	info, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool batch: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+info.Size() > s.maxBytes {
		_ = os.Remove(tmp)
		return errSpoolFull
	}
	if err := os.Rename(tmp, s.path(seq)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool batch: %w", err)
	}
	s.files = append(s.files, spoolFile{seq: seq, size: info.Size()})
	s.bytes += info.Size()
	return nil
}

// oldest reads the oldest spooled batch; ok is false when the spool is
// empty. A file that cannot be decoded is moved aside and reported.
func (s *spool) oldest() (seq uint64, batch []flow.Flow, ok bool, err error) {
	s.mu.Lock()
	if len(s.files) == 0 {
		s.mu.Unlock()
		return 0, nil, false, nil
	}
	seq = s.files[0].seq
	s.mu.Unlock()
	f, err := os.Open(s.path(seq))
	if err != nil {
		return seq, nil, true, fmt.Errorf("read spooled batch %d: %w", seq, err)
	}
	defer func() { _ = f.Close() }() // read only
	if err := gob.NewDecoder(f).Decode(&batch); err != nil {
		return seq, nil, true, fmt.Errorf("decode spooled batch %d: %w", seq, err)
	}
	return seq, batch, true, nil
}

// remove deletes a replayed (or unreadable) batch.
func (s *spool) remove(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.files, func(f spoolFile) bool { return f.seq == seq })
	if i < 0 {
		return nil
	}
	if err := os.Remove(s.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spooled batch %d: %w", seq, err)
	}
	s.bytes -= s.files[i].size
	s.files = slices.Delete(s.files, i, i+1)
	return nil
}

// size returns the spooled batches and bytes.
func (s *spool) size() (batches int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files), s.bytes
}
