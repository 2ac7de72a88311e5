"""What the two steps share, torch-free: the typed hardware config and its presets, the trace
format (reader and writer), DNN+NeuroSim's trace format (reader and writer), the staged-folder
writer and config provenance.

Step 1 (`cim/`) and step 2 (`chip/`) both import this package and never each other; this
package imports neither of them, nor torch.
"""
