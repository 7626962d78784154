#!/usr/bin/env python3
"""The scikit-learn baseline `banksync categorizer eval --split F --baseline` compares with.

Character n-gram TF-IDF (char_wb, 2-5, sublinear tf) and a multinomial logistic regression
(C=10, lbfgs), trained on TRAIN.csv and scored on TEST.csv (columns text,label, written by
banksync from one split). Prints accuracy, macro-F1 and timings. Needs scikit-learn:
    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
"""
import csv
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: categorizer_baseline.py TRAIN.csv TEST.csv")
    train_text, train_labels = read(sys.argv[1])
    test_text, test_labels = read(sys.argv[2])
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)
    features = vectorizer.fit_transform(train_text)
    model = LogisticRegression(C=10.0, max_iter=3000)
    model.fit(features, train_labels)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(vectorizer.transform(test_text))
    predict_seconds = time.perf_counter() - started
    print(f"rows: train {len(train_text)}, test {len(test_text)}")
    print(f"accuracy: {accuracy_score(test_labels, predicted) * 100:.1f} %")
    print(f"macro-F1: {f1_score(test_labels, predicted, average='macro', zero_division=0):.3f}")
    print(f"trained in {trained:.2f} s; predicted {len(test_text)} rows in {predict_seconds:.3f} s "
          f"({len(test_text) / max(predict_seconds, 1e-9):.0f} rows/s)")


if __name__ == "__main__":
    main()
