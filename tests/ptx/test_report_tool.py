import subprocess
import sys


def test_report_tool_prints_tree_and_ptxas_line(ptx_toolchain):
    result = subprocess.run(
        [sys.executable, "-m", "batchode.tools.memory_report", "batchode.tools.nested_example:report_target"],
        capture_output=True, text=True, check=True,
    )
    assert "workspace" in result.stdout and "+ child inner" in result.stdout
    assert "ptxas: sm_90:" in result.stdout and "bytes stack frame" in result.stdout
