"""Built-in English + Chinese contract text used to train the test checkpoints' tokenizer.

Why it exists: no real BGE tokenizer can be downloaded here, and tests of lexical matching need a
vocabulary where ordinary contract words ("termination", "confidential") and common Chinese
characters are real tokens. Written for this project; no third-party text.
"""

from __future__ import annotations

ENGLISH = """\
This Master Services Agreement (the "Agreement") is entered into as of the Effective Date by and between
the Company and the Customer. Each of the Company and the Customer is a "Party" and together the "Parties".
1. Definitions. "Affiliate" means any entity that directly or indirectly controls, is controlled by, or is
under common control with a Party. "Confidential Information" means all non-public information disclosed
by one Party to the other Party, whether oral, written or electronic, that is marked as confidential or
that a reasonable person would understand to be confidential. "Services" means the services described in
each Statement of Work. "Deliverables" means the documents, software and other materials delivered under
this Agreement. "Intellectual Property Rights" means patents, copyrights, trademarks, trade secrets and
all other proprietary rights anywhere in the world.
2. Term and Termination. This Agreement shall commence on the Effective Date and shall continue for an
initial term of three (3) years, and shall automatically renew for successive one (1) year renewal terms
unless either Party gives written notice of non-renewal at least ninety (90) days before the end of the
then-current term. Either Party may terminate this Agreement for convenience upon thirty (30) days prior
written notice. Either Party may terminate this Agreement immediately upon written notice if the other
Party materially breaches this Agreement and fails to cure such breach within thirty (30) days after
receiving notice of the breach, or if the other Party becomes insolvent, files for bankruptcy, or makes
an assignment for the benefit of its creditors. Upon termination or expiration, the Customer shall pay
all fees accrued through the date of termination.
3. Fees and Payment. The Customer shall pay the fees set forth in each Statement of Work within thirty
(30) days after the date of invoice. Late payments shall bear interest at the rate of one percent (1%)
per month or the maximum rate permitted by law, whichever is less. All fees are exclusive of taxes. The
Customer is responsible for all sales, use and value added taxes, excluding taxes based on the income of
the Company. The Company may increase its prices once per year with sixty (60) days notice.
4. Confidentiality. Each Party agrees to hold the Confidential Information of the other Party in strict
confidence, not to disclose it to any third party, and to use it only to perform its obligations under
this Agreement. The obligations of confidentiality shall survive for five (5) years after termination.
Confidential Information does not include information that is or becomes publicly available without
breach, was known to the receiving Party before disclosure, or is independently developed. A Party may
disclose Confidential Information if required by law, court order or a government authority, provided
that it gives prompt notice to the disclosing Party.
5. Intellectual Property. The Company retains all right, title and interest in and to its pre-existing
materials, tools and know-how. Upon full payment, the Company assigns to the Customer all rights in the
Deliverables, and grants the Customer a non-exclusive, perpetual, royalty-free, worldwide license to use
the pre-existing materials incorporated in the Deliverables. The Customer grants the Company a limited
license to use the Customer's trademarks and logos solely to provide the Services.
6. Warranties. The Company warrants that the Services will be performed in a professional and workmanlike
manner consistent with industry standards. EXCEPT AS EXPRESSLY PROVIDED IN THIS AGREEMENT, NEITHER PARTY
MAKES ANY OTHER WARRANTY, EXPRESS OR IMPLIED, INCLUDING ANY WARRANTY OF MERCHANTABILITY OR FITNESS FOR A
PARTICULAR PURPOSE.
7. Indemnification. The Company shall defend, indemnify and hold harmless the Customer and its officers,
directors, employees and agents from and against any claims, damages, losses, liabilities, costs and
expenses, including reasonable attorneys' fees, arising out of any third party claim that the
Deliverables infringe any patent, copyright or trademark. The Customer shall indemnify the Company against
claims arising from the Customer's data or its use of the Services in violation of applicable law.
8. Limitation of Liability. IN NO EVENT SHALL EITHER PARTY BE LIABLE FOR ANY INDIRECT, INCIDENTAL,
SPECIAL, CONSEQUENTIAL OR PUNITIVE DAMAGES, OR FOR LOST PROFITS OR REVENUE. EACH PARTY'S TOTAL LIABILITY
UNDER THIS AGREEMENT SHALL NOT EXCEED THE FEES PAID IN THE TWELVE (12) MONTHS BEFORE THE CLAIM. The cap on
liability does not apply to breach of confidentiality, indemnification obligations, or gross negligence.
9. Insurance. The Company shall maintain commercial general liability insurance with limits of not less
than two million dollars ($2,000,000) per occurrence, and shall provide certificates of insurance upon
request.
10. Non-Solicitation and Non-Compete. During the term and for one (1) year thereafter, neither Party shall
solicit or hire any employee of the other Party. The Distributor shall not sell competing products in the
Territory during the term of this Agreement. The Supplier grants the Distributor the exclusive right to
distribute the Products in the Territory.
11. Audit Rights. The Customer may audit the Company's books and records relating to the Services once per
calendar year, upon fifteen (15) business days notice, during normal business hours.
12. Assignment. Neither Party may assign or transfer this Agreement without the prior written consent of
the other Party, except to an Affiliate or to a successor in connection with a merger, acquisition,
change of control or sale of all or substantially all of its assets.
13. Force Majeure. Neither Party shall be liable for any delay or failure to perform caused by events
beyond its reasonable control, including acts of God, fire, flood, earthquake, war, terrorism, epidemic,
strikes, or government action.
14. Governing Law and Dispute Resolution. This Agreement shall be governed by and construed in accordance
with the laws of the State of New York, without regard to its conflict of laws principles. Any dispute
arising under this Agreement shall be resolved by binding arbitration in New York. The courts of New York
shall have exclusive jurisdiction and venue. The Parties waive any right to a jury trial.
15. Notices. All notices shall be in writing and delivered by hand, by courier, by certified mail, or by
email to the addresses set forth below, and shall be effective upon receipt.
16. Miscellaneous. This Agreement constitutes the entire agreement between the Parties and supersedes all
prior agreements and understandings. Any amendment must be in writing and signed by both Parties. If any
provision is held invalid or unenforceable, the remaining provisions shall remain in full force and
effect. No waiver of any breach shall be deemed a waiver of any other breach. This Agreement may be
executed in counterparts, each of which shall be deemed an original.
IN WITNESS WHEREOF, the Parties have executed this Agreement by their duly authorized representatives.
Who owns the intellectual property? What is the notice period for termination? Is there a cap on
liability? Which law governs the contract? How long does the confidentiality obligation last? When must
the invoice be paid? Can the agreement be assigned? Does the distributor have exclusivity? What happens
after a change of control? Is there a minimum purchase commitment or a most favored nation clause?
The license is revocable, transferable and sublicensable only with consent. The supplier shall deliver
the goods to the warehouse, and the buyer shall inspect them within ten (10) days. Title and risk of loss
pass on delivery. The warranty period is twelve months. Royalties are payable quarterly. The franchisee
pays a franchise fee and a marketing fee. The licensor may terminate if the licensee challenges the
patents. Revenue sharing, price restrictions, volume restrictions and liquidated damages apply.
"""

CHINESE = """\
本合同由甲方与乙方于生效日期签订。双方经友好协商，就服务事宜达成如下协议。
第一条 定义。关联方是指直接或间接控制一方、受一方控制或与一方处于共同控制之下的任何实体。
保密信息是指一方向另一方披露的所有非公开信息，包括书面、口头或电子形式的信息。
第二条 合同期限与终止。本合同自生效之日起生效，有效期为三年，期满自动续展一年。
任何一方可提前三十日书面通知对方解除本合同。一方严重违约且在收到通知后三十日内未予纠正的，
另一方有权立即终止本合同。一方破产、清算或资不抵债的，另一方有权解除合同。
第三条 费用与付款。乙方应在收到发票后三十日内支付服务费用。逾期付款的，应按每月百分之一支付利息。
所有费用均不含税，税款由乙方承担。
第四条 保密义务。双方应对在履行本合同过程中知悉的对方保密信息严格保密，不得向任何第三方披露。
保密义务在合同终止后五年内继续有效。依照法律、法院命令或政府机关要求披露的除外。
第五条 知识产权。甲方保留其原有材料和技术的全部知识产权。乙方付清全部款项后，交付成果的所有权归乙方所有。
第六条 保证。甲方保证按照行业标准以专业的方式提供服务。
第七条 赔偿。因交付成果侵犯第三方专利、著作权或商标权而产生的索赔、损失和费用，由甲方负责赔偿。
第八条 责任限制。任何一方均不对间接损失、附带损失、特殊损失或利润损失承担责任。
一方在本合同项下的赔偿责任总额不超过索赔前十二个月内已支付的费用。
第九条 转让。未经对方事先书面同意，任何一方不得转让本合同项下的权利和义务。
第十条 不可抗力。因地震、火灾、洪水、战争、疫情等不可抗力事件导致无法履行合同的，受影响方不承担责任。
第十一条 适用法律与争议解决。本合同适用中华人民共和国法律。因本合同引起的争议，双方应协商解决；
协商不成的，提交仲裁委员会仲裁，仲裁裁决是终局的。
第十二条 通知。所有通知应以书面形式送达对方地址或电子邮件。
第十三条 其他。本合同构成双方之间的完整协议，取代此前的所有协议。本合同一式两份，双方各执一份，具有同等法律效力。
谁拥有知识产权？终止合同的通知期限是多久？是否有责任上限？合同适用哪国法律？保密期限多长？
"""

TEXT = ENGLISH + "\n" + CHINESE
