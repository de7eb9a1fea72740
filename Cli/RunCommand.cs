using System.CommandLine;
using GpuAttention.Attention;
using GpuAttention.Compute;
using GpuAttention.Layers;

namespace GpuAttention.Cli;

/// <summary>
/// <c>gpuattn run</c> (DESIGN §9): loads a state dict, reads <c>x</c> (and <c>grad_y</c>) from the input file, runs
/// forward (and backward), and writes <c>y</c>, <c>grad_x</c>, <c>grad.&lt;key&gt;</c> and, with --train,
/// <c>state.&lt;key&gt;</c> for every buffer after the step. How users check a port against PyTorch.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var module = new Option<string>("--module") { Description = "gam, cbam, ca, nam or se (gpuattn modules lists each module's options and state-dict keys)", Required = true };
        var options = new Option<string[]>("--option") { Description = "key=value, repeatable; keys as gpuattn modules lists them (any case)", AllowMultipleArgumentsPerToken = false };
        var state = new Option<FileInfo>("--state") { Description = "the state dict (.safetensors or a torch.save .pt, told apart by content)", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "x and optionally grad_y (.safetensors or .pt)", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "where y, grad_x, grad.* and state.* go", Required = true };
        var train = new Option<bool>("--train") { Description = "train mode (batch statistics, running stats updated)" };
        var accelerator = AcceleratorOption.Create();
        var command = new Command("run", "Run a module on tensors from safetensors files and write the results") { module, options, state, input, output, train, accelerator };
        command.SetAction(parse =>
        {
            string name = parse.GetValue(module)!.ToLowerInvariant();
            CliErrors.CheckOutputPath(parse.GetValue(output)!.FullName, "--out");
            var parsed = ParseOptions(parse.GetValue(options) ?? []);
            var inputs = TensorFile.Read(parse.GetValue(input)!.FullName);
            var stateDict = TensorFile.Read(parse.GetValue(state)!.FullName);
            if (!inputs.TryGetValue("x", out var x))
                throw new InvalidDataException($"input file has no tensor 'x' (it has {string.Join(", ", inputs.Keys)})");
            if (x.Shape.Length != 4) throw new InvalidDataException($"tensor 'x' has shape [{string.Join(", ", x.Shape)}], expected [N, C, H, W]");
            if (x.Shape.Any(d => d > int.MaxValue) || x.Count > int.MaxValue)
                throw new InvalidDataException($"tensor 'x' has shape [{string.Join(", ", x.Shape)}]: a tensor holds at most {int.MaxValue} elements and dimensions");
            float[] xValues = x.ToFloats();
            using var context = ComputeContext.Create();
            using var acc = AcceleratorOption.Open(context, parse.GetValue(accelerator), Console.Out);
            using var layer = AttentionModules.Create(name, checked((int)x.Shape[1]), parsed, acc);
            layer.LoadStateDict(stateDict);
            if (parse.GetValue(train)) layer.Train(); else layer.Eval();

            var results = new List<HostTensor>();
            using var xt = Tensor.FromArray(acc, xValues, x.Shape);
            using var y = layer.Forward(xt);
            results.Add(HostTensor.Float32("y", x.Shape, y.ToArray()));
            if (inputs.TryGetValue("grad_y", out var gy))
            {
                if (!gy.Shape.SequenceEqual(x.Shape))
                    throw new InvalidDataException($"tensor 'grad_y' has shape [{string.Join(", ", gy.Shape)}], expected [{string.Join(", ", x.Shape)}] (the shape of x)");
                using var gyt = Tensor.FromArray(acc, gy.ToFloats(), gy.Shape);
                layer.ZeroGrad();
                using var gx = layer.Backward(gyt);
                results.Add(HostTensor.Float32("grad_x", x.Shape, gx.ToArray()));
                foreach (var (key, p) in layer.NamedParameters()) results.Add(HostTensor.Float32($"grad.{key}", [.. p.Gradient.Shape], p.Gradient.ToArray()));
            }
            if (parse.GetValue(train))
            {
                foreach (var (key, b) in layer.NamedBuffers()) results.Add(HostTensor.Float32($"state.{key}", [.. b.Shape], b.ToArray()));
                foreach (var (key, c) in layer.NamedCounters()) results.Add(HostTensor.Int64($"state.{key}", [], [c.Value]));
            }
            Safetensors.Write(parse.GetValue(output)!.FullName, results);
            Console.WriteLine($"{name} on {acc.Kind} ({acc.Name}): wrote {string.Join(", ", results.Select(r => r.Name))} to {parse.GetValue(output)!.FullName}");
            return 0;
        });
        return command;
    }

    /// <summary>key=value pairs; anything else is an error naming it.</summary>
    public static Dictionary<string, string> ParseOptions(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, string>();
        foreach (var pair in pairs)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0 || eq == pair.Length - 1) throw new ArgumentException($"--option expects key=value, got '{pair}'");
            result[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
        }
        return result;
    }
}
