package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestNewLocalKey(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		wantErr string
	}{
		{"a 32-byte key is accepted", make([]byte, 32), ""},
		{"a nil key is refused", nil, "0 bytes, want 32"},
		{"a 16-byte key is refused", make([]byte, 16), "16 bytes, want 32"},
		{"a 33-byte key is refused", make([]byte, 33), "33 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewLocalKey(tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`^local:[0-9a-f]{8}$`).MatchString(k.ID()) {
					t.Fatalf("ID = %q, want local: and 8 hex digits", k.ID())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	t.Run("the ID is the first 8 hex digits of the key's sha256", func(t *testing.T) {
		k, _ := NewLocalKey(make([]byte, 32))
		// sha256 of 32 zero bytes starts 66687aad.
		if k.ID() != "local:66687aad" {
			t.Fatalf("ID = %q", k.ID())
		}
	})

	t.Run("the key is copied, not kept", func(t *testing.T) {
		key := bytes.Repeat([]byte{7}, 32)
		k, _ := NewLocalKey(key)
		plain, wrapped, err := k.NewDataKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		clear(key)
		got, err := k.UnwrapKey(context.Background(), wrapped)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("UnwrapKey after clearing the caller's key: %v", err)
		}
	})
}

func TestLocalKeyUnwrapRejects(t *testing.T) {
	ctx := context.Background()
	k, _ := NewLocalKey(bytes.Repeat([]byte{1}, 32))
	_, wrapped, err := k.NewDataKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(wrapped)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name    string
		wrapped []byte
		wantErr string
	}{
		{"an empty wrapped key is refused", nil, "0 bytes, want 60"},
		{"a short wrapped key is refused", wrapped[:59], "59 bytes, want 60"},
		{"a tampered wrapped key is refused", tampered, "does not open under local:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := k.UnwrapKey(ctx, tt.wrapped)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "master.key")

	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the first call creates the file", func(t *testing.T) {
		if !created {
			t.Fatal("created = false")
		}
	})
	t.Run("the file has mode 0600 and its new parent 0700", func(t *testing.T) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("file mode %04o, want 0600", perm)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := di.Mode().Perm(); perm != 0o700 {
			t.Errorf("dir mode %04o, want 0700", perm)
		}
	})
	t.Run("the file is 32 bytes in standard base64 with a newline", func(t *testing.T) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			t.Error("no trailing newline")
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(b), "\n"))
		if err != nil || len(key) != 32 {
			t.Fatalf("decoded %d bytes, err %v", len(key), err)
		}
	})
	t.Run("no temporary file is left behind", func(t *testing.T) {
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("dir holds %d entries, want 1", len(entries))
		}
	})
	t.Run("the second call loads the same key", func(t *testing.T) {
		k2, created, err := LoadOrCreateKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if created {
			t.Error("created = true on reload")
		}
		if k1.ID() != k2.ID() {
			t.Errorf("ID %s after reload, want %s", k2.ID(), k1.ID())
		}
		sealed, err := NewEnvelope(k1).Seal(ctx, []byte("v"), []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := NewEnvelope(k2).Open(ctx, sealed, []byte("a")); err != nil || string(got) != "v" {
			t.Fatalf("Open with reloaded key = %q, %v", got, err)
		}
	})
	t.Run("a file without a trailing newline loads", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "k")
		if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o600); err != nil {
			t.Fatal(err)
		}
		k, created, err := LoadOrCreateKeyFile(p)
		if err != nil || created || k.ID() != "local:66687aad" {
			t.Fatalf("got %v, created %v, err %v", k, created, err)
		}
	})
}

func TestLoadOrCreateKeyFileRejects(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) + "\n" }
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    []string
	}{
		{"an empty file says it is empty and to restore it", "", 0o600,
			[]string{"is empty", "restore the original key file"}},
		{"a file of blanks says it is empty", " \n\n", 0o600,
			[]string{"is empty"}},
		{"a file that is not base64 says so", "this is not base64!\n", 0o600,
			[]string{"not valid base64", "restore the original key file"}},
		{"a file with 17 bytes names the length", b64(17), 0o600,
			[]string{"decoded 17 bytes, want 32", "values sealed under another key cannot be opened"}},
		{"a file with 64 bytes names the length", b64(64), 0o600,
			[]string{"decoded 64 bytes, want 32"}},
		{"a huge file is refused", strings.Repeat("A", 5000), 0o600,
			[]string{"larger than"}},
		{"a world-readable file says to chmod 600", b64(32), 0o644,
			[]string{"mode 0644", "chmod 600"}},
		{"a group-readable file says to chmod 600", b64(32), 0o640,
			[]string{"mode 0640", "chmod 600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			k, created, err := LoadOrCreateKeyFile(path)
			if err == nil {
				t.Fatalf("loaded %s", k.ID())
			}
			if created {
				t.Error("created = true")
			}
			for _, s := range append([]string{path}, tt.want...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Error("the bad key file was changed")
			}
		})
	}

	t.Run("a directory in place of the file is refused", func(t *testing.T) {
		path := t.TempDir()
		if _, _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an unreadable parent is an error, not a new key", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any directory")
		}
		parent := filepath.Join(t.TempDir(), "locked")
		if err := os.Mkdir(parent, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(parent, 0o700) })
		_, _, err := LoadOrCreateKeyFile(filepath.Join(parent, "master.key"))
		if err == nil || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("err = %v, want a permission error", err)
		}
	})
}

func TestCreateKeyFileNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("existing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := createKeyFile(path)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "existing\n" {
		t.Fatalf("file replaced: %q", got)
	}
}

func TestLoadOrCreateKeyFileConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "master.key")
	const n = 8
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			var k *LocalKey
			k, created[i], errs[i] = LoadOrCreateKeyFile(path)
			if errs[i] == nil {
				ids[i] = k.ID()
			}
		}()
	}
	for range n {
		<-done
	}
	t.Run("racing first starts agree on one key and one creator", func(t *testing.T) {
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Errorf("call %d got %s, call 0 got %s", i, ids[i], ids[0])
			}
			if created[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Errorf("%d calls report creating the file, want 1", creators)
		}
	})
}
