package ssmparams

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"golang.org/x/sync/errgroup"

	"github.com/gpubroker/pod/params"
)

// SSMAPI is the part of *ssm.Client the store uses.
type SSMAPI interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// SecretsAPI is the part of *secretsmanager.Client the store uses.
type SecretsAPI interface {
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// secretReads bounds the GetSecretValue calls in flight during LoadValues.
const secretReads = 8

// Store keeps parameter values in SSM Parameter Store and Secrets Manager.
// It is safe for concurrent use once built.
type Store struct {
	ssm    SSMAPI
	sm     SecretsAPI
	prefix string

	// Logger receives a warning for every name under the prefix that
	// LoadValues skips. Names only, never values. Nil discards. Set it
	// before the first call.
	Logger *slog.Logger
}

// New returns a store rooted at prefix; "" means DefaultPrefix.
func New(ssmClient SSMAPI, sm SecretsAPI, prefix string) *Store {
	return &Store{ssm: ssmClient, sm: sm, prefix: cleanPrefix(prefix)}
}

// LoadValues returns every value under the prefix in plain text, sorted by
// path. A name that does not follow the layout is skipped and logged. Should
// one scope and key exist in both services (a key that became secret), the
// secret wins.
func (s *Store) LoadValues(ctx context.Context) ([]params.Stored, error) {
	plain, err := s.loadParameters(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := s.loadSecrets(ctx)
	if err != nil {
		return nil, err
	}

	at := make(map[string]int, len(plain)+len(secret))
	out := make([]params.Stored, 0, len(plain)+len(secret))
	for _, v := range plain {
		at[Path(s.prefix, v.Scope, v.Key)] = len(out)
		out = append(out, v)
	}
	for _, v := range secret {
		p := Path(s.prefix, v.Scope, v.Key)
		if i, dup := at[p]; dup {
			s.logger().WarnContext(ctx, "ssmparams: value kept in both SSM and Secrets Manager; using the secret", "path", p)
			out[i] = v
			continue
		}
		at[p] = len(out)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b params.Stored) int {
		return cmp.Compare(Path(s.prefix, a.Scope, a.Key), Path(s.prefix, b.Scope, b.Key))
	})
	return out, nil
}

func (s *Store) loadParameters(ctx context.Context) ([]params.Stored, error) {
	pages := ssm.NewGetParametersByPathPaginator(s.ssm, &ssm.GetParametersByPathInput{
		Path:           aws.String(s.prefix),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(true),
		MaxResults:     aws.Int32(10),
	})
	var out []params.Stored
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ssmparams: list SSM parameters under %s: %w", s.prefix, err)
		}
		for _, p := range page.Parameters {
			name := aws.ToString(p.Name)
			sc, key, err := parseName(s.prefix, name)
			if err != nil {
				s.skip(ctx, "ssm", name, err)
				continue
			}
			out = append(out, params.Stored{
				Scope:     sc,
				Key:       key,
				Value:     decode(aws.ToString(p.Value)),
				UpdatedAt: aws.ToTime(p.LastModifiedDate),
			})
		}
	}
	return out, nil
}

func (s *Store) loadSecrets(ctx context.Context) ([]params.Stored, error) {
	root := secretName(s.prefix) + "/"
	pages := secretsmanager.NewListSecretsPaginator(s.sm, &secretsmanager.ListSecretsInput{
		Filters:    []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{root}}},
		MaxResults: aws.Int32(100),
	})
	var (
		out  []params.Stored
		refs []string // SecretId for out[i]
	)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ssmparams: list secrets under %s: %w", root, err)
		}
		for _, e := range page.SecretList {
			name := aws.ToString(e.Name)
			sc, key, err := parseName(s.prefix, "/"+name)
			if err != nil {
				s.skip(ctx, "secretsmanager", name, err)
				continue
			}
			out = append(out, params.Stored{Scope: sc, Key: key, UpdatedAt: aws.ToTime(e.LastChangedDate)})
			refs = append(refs, cmp.Or(aws.ToString(e.ARN), name))
		}
	}

	// A secret deleted between the listing and the read is dropped.
	keep := make([]bool, len(out))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(secretReads)
	for i := range out {
		g.Go(func() error {
			name := secretName(Path(s.prefix, out[i].Scope, out[i].Key))
			v, err := s.sm.GetSecretValue(gctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(refs[i])})
			_, missing := errors.AsType[*smtypes.ResourceNotFoundException](err)
			switch {
			case missing:
				return nil
			case err != nil:
				return fmt.Errorf("ssmparams: read secret %s: %w", name, err)
			case v.SecretString == nil:
				s.skip(gctx, "secretsmanager", name, errors.New("binary secret: want a SecretString"))
				return nil
			}
			out[i].Value = decode(*v.SecretString)
			if v.CreatedDate != nil { // when this version, the current value, was written
				out[i].UpdatedAt = *v.CreatedDate
			}
			keep[i] = true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, v := range out {
		if keep[i] {
			kept = append(kept, v)
		}
	}
	return kept, nil
}

// PutValues applies the writes in order and stops at the first failure;
// earlier writes stay applied. A secret write goes to Secrets Manager, any
// other to SSM. Deleting a value that does not exist succeeds.
func (s *Store) PutValues(ctx context.Context, writes []params.Write) error {
	for _, w := range writes {
		if err := s.apply(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, w params.Write) error {
	path := Path(s.prefix, w.Scope, w.Key)
	if err := check(s.prefix, path, w); err != nil {
		return fmt.Errorf("ssmparams: write %s: %w", path, err)
	}
	var err error
	switch {
	case w.Secret && w.Delete:
		err = s.deleteSecret(ctx, secretName(path))
	case w.Secret:
		err = s.putSecret(ctx, secretName(path), encode(w.Value))
	case w.Delete:
		err = s.deleteParameter(ctx, path)
	default:
		err = s.putParameter(ctx, path, encode(w.Value))
	}
	if err != nil {
		op := "put"
		if w.Delete {
			op = "delete"
		}
		return fmt.Errorf("ssmparams: %s %s: %w", op, path, err)
	}
	return nil
}

// check refuses a write that would not load back as written.
func check(prefix, path string, w params.Write) error {
	sc, key, err := parseName(prefix, path)
	if err != nil || sc != w.Scope || key != w.Key {
		return fmt.Errorf("scope %s and key %q do not make a parameter name: want a known mode and no slash in tenant or key", w.Scope, w.Key)
	}
	if w.Delete {
		return nil
	}
	if w.Sealed {
		return errors.New("sealed value: this backend takes plain text and lets Secrets Manager encrypt")
	}
	if w.Value == EmptyValue {
		return fmt.Errorf("the value %s is reserved to store an empty value", EmptyValue)
	}
	return nil
}

func (s *Store) putParameter(ctx context.Context, path, value string) error {
	_, err := s.ssm.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(path),
		Value:     aws.String(value),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	})
	return err
}

func (s *Store) deleteParameter(ctx context.Context, path string) error {
	_, err := s.ssm.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(path)})
	if _, missing := errors.AsType[*ssmtypes.ParameterNotFound](err); missing {
		return nil
	}
	return err
}

// putSecret creates the secret, or adds a version when it exists: creation
// is attempted first because it is the only call that can make the name.
func (s *Store) putSecret(ctx context.Context, name, value string) error {
	_, err := s.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(value),
	})
	if _, exists := errors.AsType[*smtypes.ResourceExistsException](err); !exists {
		return err
	}
	_, err = s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(name),
		SecretString: aws.String(value),
	})
	return err
}

// deleteSecret removes the secret without a recovery window: a scheduled
// deletion would keep the name and refuse the next put of the same key.
func (s *Store) deleteSecret(ctx context.Context, name string) error {
	_, err := s.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId:                   aws.String(name),
		ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	if _, missing := errors.AsType[*smtypes.ResourceNotFoundException](err); missing {
		return nil
	}
	return err
}

func (s *Store) skip(ctx context.Context, service, name string, why error) {
	s.logger().WarnContext(ctx, "ssmparams: skipping a name outside the layout", "service", service, "name", name, "reason", why.Error())
}

func (s *Store) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
