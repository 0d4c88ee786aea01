"""Chinese wording for the demo: budget lines, approval titles, payment purposes, notices, cases.

Plain tables of templates; `{unit}`, `{y}`, `{q}`, `{m}` and similar are filled in by the stages.
"""

from __future__ import annotations

from typing import Final

# Budget lines every unit gets each year: (economic code, function code, name). The function
# code of the last two depends on the unit (community or village); see `finance`.
INDICATOR_TEMPLATES: Final = (
    ("30201", "2010301", "办公经费"),
    ("30201", "2010101", "人大代表联络站工作经费"),
    ("30211", "2010301", "差旅费"),
    ("30215", "2010301", "会议费"),
    ("30216", "2010301", "培训费"),
    ("30217", "2010301", "公务接待费"),
    ("30226", "2120101", "劳务费"),
    ("30227", "2120501", "环境卫生委托服务费"),
    ("30231", "2010301", "公务用车运行维护费"),
    ("30299", "2120399", "其他商品和服务支出"),
    ("30305", "2081901", "困难群众生活补助"),
    ("31002", "2120101", "办公设备购置"),
)
VILLAGE_FUNCTION_CODES: Final = {"30299": "2130705", "30305": "2081902"}

ECONOMIC_NAMES: Final = {
    "30201": "办公费", "30211": "差旅费", "30215": "会议费", "30216": "培训费",
    "30217": "公务接待费", "30226": "劳务费", "30227": "委托业务费",
    "30231": "公务用车运行维护费", "30299": "其他商品和服务支出", "30305": "生活补助",
    "31002": "办公设备购置",
}

APPROVAL_TITLES: Final = {
    "MEETING": ("召开{y}年度居民代表会议", "召开{unit}第{q}季度工作例会", "召开网格员工作推进会",
                "召开党员大会暨“三务”公开民主评议会"),
    "TRAINING": ("组织社区工作者业务培训", "开展网格员消防安全培训", "组织两委干部赴外地学习培训",
                 "开展财务人员业务能力培训"),
    "TRAVEL": ("赴{city}参加民政业务培训", "赴区里参加财务人员业务培训",
               "赴{city}考察学习基层治理经验", "赴{city}参加村级财务管理交流会"),
    "RECEPTION": ("接待区民政局调研组", "接待街道纪工委检查组", "接待兄弟社区考察交流",
                  "接待市农业农村局调研"),
    "PROCUREMENT": ("采购办公用品（打印纸、硒鼓等）", "采购办公电脑及打印机", "采购防汛物资",
                    "采购垃圾分类宣传用品", "采购会议室音响设备"),
    "PROJECT": ("委托开展小区环境综合整治", "委托第三方开展居民满意度调查",
                "老旧小区加装电梯协调服务", "村道路面修缮工程", "文化礼堂提升改造"),
    "OTHER": ("社区文化活动场地布置", "公务用车维修保养", "印制三务公开宣传资料", "重阳节敬老活动"),
}
TRAVEL_CITIES: Final = (
    "宁波", "温州", "湖州", "嘉兴", "金华", "衢州", "舟山", "台州", "丽水", "上海",
)

# Purposes of payments to people, by economic code.
PERSON_PURPOSES: Final = {
    "30201": ("购买办公用品",),
    "30217": ("工作餐费",),
    "30299": ("社区文化活动零星支出",),
    "30226": ("垃圾分类督导员劳务费（{y}年{m}月）", "网格员劳务报酬（{y}年{m}月）",
              "治安巡逻队员劳务费（{y}年{m}月）", "文艺演出人员劳务费",
              "河道保洁员劳务费（{y}年{m}月）"),
    "30305": ("困难群众临时救助金", "困难家庭生活补助", "春节慰问困难党员"),
}
# Purposes of payments to suppliers, by the supplier's trade.
TRADE_PURPOSES: Final = {
    "office": ("购买办公用品", "购买档案盒及文具", "打印机耗材"),
    "print": ("印制三务公开宣传资料", "印刷费", "制作宣传展板"),
    "hotel": ("住宿费",),
    "meeting": ("会务服务费",),
    "training": ("培训服务费",),
    "institute": ("培训服务费",),
    "catering": ("工作餐费", "会议用餐费"),
    "property": ("委托物业管理服务费（{y}年第{q}季度）", "小区公共区域维修费"),
    "cleaning": ("小区保洁服务费（{y}年第{q}季度）", "垃圾清运服务费"),
    "garden": ("绿化养护服务费", "公共绿地补种工程款"),
    "it": ("信息系统运维服务费", "网格化管理平台维护费"),
    "construction": ("村道路面修缮工程款", "老旧小区改造工程进度款", "文化礼堂提升改造工程款"),
    "car": ("公务用车维修保养费", "公务用车保险费"),
    "fuel": ("公务用车加油费",),
    "culture": ("社区文化活动经费", "重阳节敬老活动服务费", "党建活动布展费"),
    "electronics": ("购置办公电脑", "购置复印机", "购置监控摄像设备", "购置会议室音响设备"),
}

# Economic code → supplier trades (see `people.TRADES`).
SELLER_TRADES: Final = {
    "30201": ("office", "print"),
    "30211": ("hotel",),
    "30215": ("meeting", "hotel"),
    "30216": ("training", "institute"),
    "30217": ("catering",),
    "30227": ("property", "cleaning", "garden", "it", "construction"),
    "30231": ("car", "fuel"),
    "30299": ("culture", "print"),
    "31002": ("electronics",),
}

QUARTER_NAMES: Final = {1: "一", 2: "二", 3: "三", 4: "四"}

CASE_SUBJECTS: Final = {
    "R01": "{unit}无预算指标支出问题",
    "R04": "{unit}疑似拆分支付规避审批问题",
    "R06": "{unit}事前审批缺失或补办问题",
    "R07": "{unit}报销金额超出审批金额问题",
    "R08": "{unit}发票重复报销问题",
    "R12": "{unit}大额资金转入个人账户问题",
    "R13": "{unit}超限额现金支付问题",
    "PETITION": "群众反映{unit}{topic}问题",
    "PATROL": "区委巡察发现{unit}{topic}问题",
    "AUDIT": "审计发现{unit}{topic}问题",
    "PUBLIC": "三务公开平台反映{unit}{topic}问题",
}
CASE_TOPICS: Final = (
    "村级工程项目发包不规范", "集体资金使用不透明", "低保评定不公", "补贴资金冒领",
    "公款吃喝", "公务用车私用", "财务公开不及时", "劳务费发放不实", "物业服务费支出异常",
)
RULE_SUMMARIES: Final = {
    "R01": "系统预警：{date}向{payee}支付{amount}元，未关联当年预算指标。",
    "R04": "系统预警：{date}前后30日内向{payee}连续支付多笔，单笔均略低于5万元审批限额，"
           "其中一笔{amount}元，疑似拆分支付。",
    "R06": "系统预警：{date}支付{amount}元，相关报销缺少事前审批或审批晚于开票日期。",
    "R07": "系统预警：{date}支付{amount}元，报销金额超过事前审批金额10%以上。",
    "R08": "系统预警：{date}支付{amount}元，所附发票已在其他报销单中使用。",
    "R12": "系统预警：{date}向个人{payee}转账{amount}元，未见于工资或补贴名册。",
    "R13": "系统预警：{date}以现金支付{amount}元，超过现金使用限额。",
}
OTHER_SUMMARY: Final = (
    "经初步了解，{unit}在{y}年存在{topic}的情况，涉及资金约{amount}元，需进一步核实。"
)
REQUIREMENTS: Final = (
    "规范公务卡使用，严禁超限额现金支付",
    "补充完善事前审批手续，健全重大事项集体决策制度",
    "追回违规发放的补贴资金，建立死亡人员信息比对机制",
    "按季度公开财务收支明细，接受群众监督",
    "对拆分支付问题开展自查，严格执行政府采购限额标准",
    "清理重复报销发票，完善发票查验登记制度",
    "建立劳务费发放台账，核实发放对象",
    "严格预算执行，无预算不得支出",
)
FEEDBACK_DONE: Final = (
    "已完成整改：已追回资金{amount}元，并对相关责任人进行批评教育。",
    "已完成整改：已补齐审批手续，修订财务管理制度并经居民代表会议通过。",
    "已完成整改：已在公开栏和“浙里办”补充公开相关收支明细。",
)
FEEDBACK_PROGRESS: Final = (
    "整改推进中：已制定整改方案，正在逐笔核对相关支出。",
    "整改推进中：已追回部分资金{amount}元，其余正在协调。",
)
FEEDBACK_OVERDUE: Final = ("因涉及人员外出务工，追缴工作延期，已申请延长整改期限。",)
ALERT_GENERIC: Final = (
    "系统预警：{date}向{payee}支付{amount}元，收款方与本单位工作人员疑似存在关联关系。"
)

# Quarterly 居务/村务 notices; the placeholders are filled from one dict of plausible counts.
COMMUNITY_AFFAIRS: Final = (
    "本季度召开居民代表会议{meetings}次，审议通过了小区停车管理办法、老旧小区改造实施方案等事项。",
    "本季度共受理居民诉求{requests}件，已办结{resolved}件。",
    "本季度开展垃圾分类入户宣传{events}次，组织志愿服务活动{meetings}场。",
)
VILLAGE_AFFAIRS: Final = (
    "本季度召开村民代表会议{meetings}次，审议通过了村道修缮、村集体资产出租等事项。",
    "本季度村集体经济收入{income}元，村级工程项目{projects}项，均按规定进行了招投标。",
    "本季度宅基地审批{households}户，均已张榜公示，无异议。",
)
PARTY_ITEMS: Final = (
    ("{y}年第{qn}季度党费收缴情况公开",
     "本季度应缴党费党员{members}名，实缴{members}名，收缴党费{amount}元，"
     "已按规定足额上缴街道（镇）党（工）委。"),
    ("{y}年第{qn}季度“三会一课”开展情况公开",
     "本季度召开支部党员大会{meetings}次、支委会{committees}次，讲党课1次，组织主题党日活动3次。"),
)
PARTY_SPECIAL: Final = (
    ("{y}年发展党员公示",
     "经支部委员会研究，拟将{name}同志列为发展对象，现予公示。公示期5个工作日。"),
    ("党组织换届选举结果公示",
     "经党员大会选举，产生新一届支部委员会委员{committee}名，{name}同志当选为支部书记。"),
)
NOTICE_TAIL: Final = (
    "以上内容已经{board}审核。如有疑问，请于公开之日起10日内向{street}纪工委或{unit}"
    "{board}反映。监督电话：{phone}。"
)
