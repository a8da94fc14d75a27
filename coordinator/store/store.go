package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the file layout this package reads and writes.
const SchemaVersion = 1

// DefaultTimeout is how long Open waits for the file lock by default.
const DefaultTimeout = time.Second

// defaultBatchBytes is roughly how much model data a ModelWriter commits
// per transaction.
const defaultBatchBytes = 64 << 20

var (
	// ErrNotFound is wrapped by lookups of absent keys, rounds and models.
	ErrNotFound = errors.New("not found")
	// ErrLocked is wrapped by Open when another process holds the file.
	ErrLocked = errors.New("store file is locked by another process")
	// ErrUnsupportedSchema is wrapped by Open for a file this build cannot read.
	ErrUnsupportedSchema = errors.New("unsupported store schema")
)

var (
	bucketMeta         = []byte("meta")
	bucketParticipants = []byte("participants")
	bucketRounds       = []byte("rounds")
	bucketModels       = []byte("models")
	bucketLedger       = []byte("ledger")

	allBuckets = [][]byte{bucketMeta, bucketParticipants, bucketRounds, bucketModels, bucketLedger}

	keySchema = []byte("schema_version")
)

// Options configures Open.
type Options struct {
	// Timeout bounds the wait for the exclusive file lock (0: DefaultTimeout).
	// A second coordinator on the same file fails with ErrLocked after it.
	Timeout time.Duration
}

// Store is an open store file.
type Store struct {
	db         *bolt.DB
	path       string
	batchBytes int
	recovered  Recovery

	mu      sync.Mutex
	writers map[uint64]bool // rounds with an active ModelWriter
}

// Open opens or creates the store file at path, checks its schema version
// and runs [Store.Recover]; [Store.Recovered] reports what it removed.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w (waited %s; is another coordinator using it?)", path, ErrLocked, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, batchBytes: defaultBatchBytes, writers: map[uint64]bool{}}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if s.recovered, err = s.Recover(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// initSchema creates the buckets of a new file, or checks an existing
// file's schema version.
func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			return fmt.Errorf("not a confed store: it has bucket %q but no %q", name, bucketMeta)
		}); err != nil {
			return err
		}
		return createBuckets(tx, SchemaVersion)
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return fmt.Errorf("%w: schema version is missing or malformed", ErrUnsupportedSchema)
	}
	if ver := binary.BigEndian.Uint64(v); ver == 0 || ver > SchemaVersion {
		return fmt.Errorf("%w: the file has schema version %d, this build reads version %d", ErrUnsupportedSchema, ver, SchemaVersion)
	}
	return createBuckets(tx, SchemaVersion)
}

func createBuckets(tx *bolt.Tx, version uint64) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %q: %w", name, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, be64(version))
}

// Close closes the file. A ModelWriter still open is left partial and
// removed by the next Open.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// unbe64 decodes a big-endian key; ok is false unless k is 8 bytes.
func unbe64(k []byte) (n uint64, ok bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}
