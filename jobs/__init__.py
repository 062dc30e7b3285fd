"""ftaas job side: the job contracts (spec, status, store layout) and the GPU worker that runs them.

Everything imported at package level here is torch-free; torch is imported only inside the
training and serving modules that need it.
"""
