// pulumi-language-nodejs (wrapper): the Node.js language host this repository runs the Pulumi CLI with
// when the CLI is built from the Go module proxy (scripts/ensure-pulumi.sh).
//
// The Node.js host's own Go module is not served at current versions; the last copy inside
// github.com/pulumi/pulumi/sdk/v3 is v3.68.0. That host runs programs (previews, ups, destroys) with a
// current CLI, but it predates RunPlugin, which a current CLI uses to start a Node policy pack
// (`pulumi preview --policy-pack policy` fails with "not supported"). This wrapper starts the v3.68.0
// host beside itself (pulumi-language-nodejs-v3.68.0 in the same directory), forwards every call to it,
// and answers RunPlugin itself: it runs @pulumi/pulumi/cmd/run-policy-pack (resolved from the pack's
// directory, as Pulumi's own pulumi-analyzer-policy script does) with node and streams its output.
// v3.68.0 also predates runtime options in the requests (ProgramInfo.options): it takes `typescript`
// only as a flag, and the current CLI passes none, so it always ran ts-node. The wrapper reads the
// option from each Run request: the v3.68.0 host it starts with is -typescript=false (the flag matters
// to Run alone), which runs such programs and answers every other call; a program without the option
// or with `typescript: true` runs on a second v3.68.0 host with ts-node, started on first use. So a
// `typescript: false` project (test:cli's copies) costs one v3.68.0 process per command, not two.
// What it cannot do: RunPlugin for anything but a Node policy pack (e.g. a provider written in Node and
// started from a PulumiPlugin.yaml), and the calls v3.68.0 lacks (GetRequiredPackages, Pack, Link,
// code generation) answer Unimplemented as that host does.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const wrappedVersion = "v3.68.0"

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	// old is the v3.68.0 host started with -typescript=false: every call but a TypeScript Run.
	old pulumirpc.LanguageRuntimeClient

	tsOnce sync.Once
	ts     pulumirpc.LanguageRuntimeClient
	tsErr  error
}

// typeScript returns a v3.68.0 host that runs programs with ts-node (started on first use).
func (h *host) typeScript() (pulumirpc.LanguageRuntimeClient, error) {
	h.tsOnce.Do(func() {
		var port string
		port, h.tsErr = startOld()
		if h.tsErr == nil {
			h.ts, h.tsErr = dial(port)
		}
	})
	return h.ts, h.tsErr
}

func (h *host) GetRequiredPlugins(ctx context.Context, r *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return h.old.GetRequiredPlugins(ctx, r)
}

func (h *host) GetRequiredPackages(ctx context.Context, r *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return h.old.GetRequiredPackages(ctx, r)
}

func (h *host) Run(ctx context.Context, r *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if ts, ok := r.GetInfo().GetOptions().GetFields()["typescript"]; ok {
		if b, isBool := ts.GetKind().(*structpb.Value_BoolValue); isBool && !b.BoolValue {
			return h.old.Run(ctx, r)
		}
	}
	ts, err := h.typeScript()
	if err != nil {
		return nil, err
	}
	return ts.Run(ctx, r)
}

func (h *host) GetPluginInfo(ctx context.Context, r *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return h.old.GetPluginInfo(ctx, r)
}

func (h *host) About(ctx context.Context, r *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	return h.old.About(ctx, r)
}

func (h *host) GetProgramDependencies(ctx context.Context, r *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return h.old.GetProgramDependencies(ctx, r)
}

func (h *host) Cancel(ctx context.Context, r *emptypb.Empty) (*emptypb.Empty, error) {
	return h.old.Cancel(ctx, r)
}

func (h *host) InstallDependencies(r *pulumirpc.InstallDependenciesRequest, s grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	stream, err := h.old.InstallDependencies(s.Context(), r)
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(msg); err != nil {
			return err
		}
	}
}

// RunPlugin runs a Node policy pack: node <run-policy-pack> <engine address...> <pack directory>.
func (h *host) RunPlugin(r *pulumirpc.RunPluginRequest, s grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	dir := r.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = r.GetPwd()
	}
	if r.GetKind() != "" && r.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented,
			"this language host (a wrapper over pulumi-language-nodejs %s) runs only Node policy packs, not %s plugins", wrappedVersion, r.GetKind())
	}
	resolve := exec.Command("node", "-e", `process.stdout.write(require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [process.argv[1]] }))`, dir)
	resolve.Dir = dir
	runner, err := resolve.Output()
	if err != nil {
		return status.Errorf(codes.FailedPrecondition,
			"could not find @pulumi/pulumi/cmd/run-policy-pack from %s: install the policy pack's dependencies", dir)
	}
	args := append([]string{string(runner)}, r.GetArgs()...)
	args = append(args, dir)
	cmd := exec.CommandContext(s.Context(), "node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), r.GetEnv()...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	sends := make(chan *pulumirpc.RunPluginResponse)
	pump := func(rd io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse) {
		buf := make([]byte, 32*1024)
		for {
			n, err := rd.Read(buf)
			if n > 0 {
				sends <- wrap(append([]byte(nil), buf[:n]...))
			}
			if err != nil {
				sends <- nil
				return
			}
		}
	}
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	for open := 2; open > 0; {
		msg := <-sends
		if msg == nil {
			open--
			continue
		}
		if err := s.Send(msg); err != nil {
			_ = cmd.Process.Kill()
		}
	}
	code := int32(0)
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = int32(exit.ExitCode())
	}
	return s.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

func dial(port string) (pulumirpc.LanguageRuntimeClient, error) {
	conn, err := grpc.NewClient("127.0.0.1:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(400*1024*1024)))
	if err != nil {
		return nil, err
	}
	return pulumirpc.NewLanguageRuntimeClient(conn), nil
}

// startOld starts the v3.68.0 host with the given flags and this process's arguments and returns its port.
func startOld(flags ...string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(self), "pulumi-language-nodejs-"+wrappedVersion)
	cmd := exec.Command(bin, append(flags, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	lines := bufio.NewReader(out)
	port, err := lines.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%s printed no port: %w", bin, err)
	}
	go func() { _, _ = io.Copy(os.Stderr, lines) }()
	go func() { _ = cmd.Wait(); os.Exit(1) }()
	return strings.TrimSpace(port), nil
}

func main() {
	port, err := startOld("-typescript=false")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-nodejs (wrapper):", err)
		os.Exit(1)
	}
	old, err := dial(port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-nodejs (wrapper):", err)
		os.Exit(1)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-nodejs (wrapper):", err)
		os.Exit(1)
	}
	server := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(server, &host{old: old})
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-nodejs (wrapper):", err)
		os.Exit(1)
	}
}
