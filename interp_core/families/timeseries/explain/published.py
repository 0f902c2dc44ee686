"""Published figures the page and the benchmark compare with."""

# TimeX paper (Queen et al. 2023), AUPRC on its synthetic sets, via a reproduction's table.
TIMEX_PUBLISHED = {
    "freqshapes": {"integrated_gradients": 0.752, "timex": 0.832},
    "seqcomb_uv": {"integrated_gradients": 0.576, "timex": 0.712},
    "seqcomb_mv": {"integrated_gradients": 0.330, "timex": 0.688},
    "lowvar": {"integrated_gradients": 0.869, "timex": 0.867},
}
# UCR/UEA test accuracy (FCN, ResNet) from dl-4-tsc (Ismail Fawaz et al. 2019).
UCR_PUBLISHED = {
    "gunpoint": (1.00, 0.991),
    "arrowhead": (0.843, 0.838),
    "italy_power": (0.963, 0.962),
    "japanese_vowels": (0.993, 0.992),
}
