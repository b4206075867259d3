import torch
import transformers
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from losslint.hf import LossLintCallback

torch.manual_seed(0)
config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                    max_position_embeddings=32, num_labels=3, problem_type="multi_label_classification")
model = BertForSequenceClassification(config)


class Tagged(torch.utils.data.Dataset):
    """64 rows of 3 tags, written as -1 / +1."""
    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 64, (64, 10), generator=gen)
        self.tags = (torch.randint(0, 2, (64, 3), generator=gen) * 2 - 1).float()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.tags[i]}


args = TrainingArguments("out", num_train_epochs=2, per_device_train_batch_size=16, report_to=[], use_cpu=True,
                         save_strategy="no", logging_strategy="no", disable_tqdm=True)
trainer = Trainer(model=model, args=args, train_dataset=Tagged(), callbacks=[LossLintCallback()])
trainer.train()
