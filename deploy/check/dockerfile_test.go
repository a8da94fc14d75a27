package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// hadolint is not installable here (no Debian package; its npm and PyPI
// wrappers download a binary from GitHub at install time), so these are
// the rules of it that matter for confed's images, plus confed's own.

type instruction struct {
	line int
	cmd  string // upper case
	args string
}

type stage struct {
	from, name string
	instrs     []instruction
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(data string) ([]stage, error) {
	var stages []stage
	var cur *instruction
	var pending []instruction
	for i, raw := range strings.Split(data, "\n") {
		line := strings.TrimSpace(raw)
		if cur == nil && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		line = strings.TrimSuffix(line, "\\")
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else if !strings.HasPrefix(line, "#") {
			cur.args += " " + strings.TrimSpace(line)
		}
		if !cont {
			pending = append(pending, *cur)
			cur = nil
		}
	}
	for _, in := range pending {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				continue
			}
			return nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$`)

// lintDockerfile returns every rule the Dockerfile breaks.
func lintDockerfile(data string, minimal bool) []string {
	stages, err := parseDockerfile(data)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	names := map[string]bool{}
	for _, s := range stages {
		switch {
		case s.from == "scratch" || names[s.from]:
		case !pinnedImage.MatchString(s.from) || !(strings.Contains(s.from, ":") || strings.Contains(s.from, "@")):
			bad("FROM %s: pin the base image by tag or digest", s.from)
		case strings.HasSuffix(s.from, ":latest") || strings.Contains(s.from, ":latest@"):
			bad("FROM %s: never the latest tag", s.from)
		}
		if s.name != "" {
			names[s.name] = true
		}
		for _, in := range s.instrs {
			lintInstruction(in, bad)
		}
	}
	final := stages[len(stages)-1]
	user := ""
	for _, in := range final.instrs {
		if in.cmd == "USER" {
			user = in.args
		}
		if minimal && in.cmd == "RUN" {
			bad("line %d: RUN in the final stage of a minimal image (it has no shell)", in.line)
		}
		if (in.cmd == "ENTRYPOINT" || in.cmd == "CMD") && !strings.HasPrefix(in.args, "[") {
			bad("line %d: %s in shell form; use the exec form [\"...\"]", in.line, in.cmd)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		bad("final stage must end with USER <numeric non-zero UID>, got %q", user)
	}
	if minimal && !(final.from == "scratch" || strings.HasPrefix(final.from, "gcr.io/distroless/static")) {
		bad("final stage FROM %s: a minimal image is scratch or distroless static", final.from)
	}
	return problems
}

func lintInstruction(in instruction, bad func(string, ...any)) {
	switch in.cmd {
	case "ADD":
		if strings.Contains(in.args, "://") {
			bad("line %d: ADD of a URL: download in a RUN step with a checksum, or vendor the file", in.line)
		} else {
			bad("line %d: ADD: use COPY", in.line)
		}
	case "RUN":
		if strings.Contains(in.args, "apt-get install") {
			if !strings.Contains(in.args, "--no-install-recommends") {
				bad("line %d: apt-get install without --no-install-recommends", in.line)
			}
			if !strings.Contains(in.args, "rm -rf /var/lib/apt/lists") {
				bad("line %d: apt-get install without removing /var/lib/apt/lists", in.line)
			}
		}
		if strings.Contains(in.args, "curl ") || strings.Contains(in.args, "wget ") {
			bad("line %d: downloads in RUN make the image depend on the network at build time", in.line)
		}
		if strings.Contains(in.args, "sudo ") {
			bad("line %d: sudo in RUN", in.line)
		}
	case "MAINTAINER":
		bad("line %d: MAINTAINER is deprecated", in.line)
	}
}

func TestDockerfiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy/docker/*.Dockerfile"))
	if err != nil || len(files) < 4 {
		t.Fatalf("want the four Dockerfiles in deploy/docker, found %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			minimal := !strings.Contains(f, "python")
			for _, p := range lintDockerfile(string(data), minimal) {
				t.Errorf("%s: %s", f, p)
			}
			if !strings.Contains(string(data), "scripts/reproducible-build.sh") {
				t.Errorf("%s: binaries must be built with scripts/reproducible-build.sh", f)
			}
		})
	}
}

func TestDockerfileLintCatches(t *testing.T) {
	const good = "FROM golang:1.26.8 AS build\nRUN go build\nFROM scratch\nCOPY --from=build /x /x\nUSER 65532:65532\nENTRYPOINT [\"/x\"]\n"
	if p := lintDockerfile(good, true); len(p) != 0 {
		t.Fatalf("good Dockerfile refused: %v", p)
	}
	for _, tt := range []struct{ name, df, want string }{
		{"latest", "FROM debian:latest\nUSER 1\n", "never the latest tag"},
		{"untagged", "FROM debian\nUSER 1\n", "pin the base image"},
		{"root", "FROM scratch\nUSER 0\n", "numeric non-zero UID"},
		{"named user", "FROM scratch\nUSER nobody\n", "numeric non-zero UID"},
		{"no user", "FROM scratch\nENTRYPOINT [\"/x\"]\n", "numeric non-zero UID"},
		{"add url", "FROM scratch\nADD https://example.org/x /x\nUSER 1\n", "ADD of a URL"},
		{"apt", "FROM debian:12\nRUN apt-get update && \\\n  apt-get install -y python3\nUSER 1\n", "--no-install-recommends"},
		{"shell in minimal", "FROM debian:12\nRUN true\nUSER 1\n", "RUN in the final stage"},
		{"shell form", "FROM scratch\nUSER 1\nENTRYPOINT /x\n", "shell form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := lintDockerfile(tt.df, true)
			if !strings.Contains(strings.Join(p, "\n"), tt.want) {
				t.Errorf("problems %q, want one containing %q", p, tt.want)
			}
		})
	}
}
