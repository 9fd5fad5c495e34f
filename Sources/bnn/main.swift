import BNN
print("bnn")
