"""``abauto extract`` on short audio the test makes itself (skipped without Essentia)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from abauto_plugins.acousticbrainz.loader import read_documents
from abauto.cli import main

pytestmark = pytest.mark.slow


def test_extract_writes_documents_abauto_reads(tmp_path):
    pytest.importorskip("essentia")
    audio = tmp_path / "audio"
    audio.mkdir()
    rate = 44100
    t = np.arange(int(rate * 4)) / rate
    rng = np.random.default_rng(0)
    tones = {"tone": 0.4 * np.sin(2 * np.pi * 440 * t) * (1 + 0.3 * np.sin(2 * np.pi * 2 * t)),
             "noise": 0.2 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 1.5 * t) > 0)}
    for name, wave in tones.items():
        wavfile.write(audio / f"{name}.wav", rate, (wave * 32767).astype(np.int16))
    out = tmp_path / "lowlevel"
    with pytest.raises(SystemExit) as exc:
        main(["extract", str(audio), "-o", str(out)])
    assert exc.value.code == 0
    assert sorted(p.name for p in out.glob("*.json")) == ["noise.json", "tone.json"]
    docs = read_documents(out)
    assert docs.matrix.shape[0] == 2 and "lowlevel.mfcc.mean.0" in docs.layout.columns
    assert "tonal.key_edma.key" in docs.layout.categorical
