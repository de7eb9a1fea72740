using BenchmarkDotNet.Running;

// dotnet run -c Release --project Bench -- --filter '*'     (or a class name: --filter '*Launch*')
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
